"""Pure rules: ID numbers, credit codes, masking, cohort window, training modes."""
from __future__ import annotations

from datetime import date

import pytest

from demo.sample_data import make_credit_code, make_id_number
from signing.eligibility import cohort_open, may_sign
from signing.personal import credit_code_problem, id_number_problem, mask_id_number, mask_name, mask_phone


def test_id_number_check_digit():
    assert id_number_problem("11010519491231002X") is None
    assert id_number_problem("110105194912310021") == "身份证号校验位不正确"
    assert id_number_problem("11010519491331002X") == "身份证号中的出生日期无效"
    assert id_number_problem("1101051949") is not None
    assert id_number_problem(make_id_number(7)) is None


def test_credit_code_check_digit():
    assert credit_code_problem("91350100M000100Y43") is None
    assert credit_code_problem("91350100M000100Y44") == "统一社会信用代码校验位不正确"
    assert credit_code_problem("9135010OM000100Y43") is not None  # letter O is not in the alphabet
    assert credit_code_problem(make_credit_code(42)) is None


def test_masks():
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_phone("13912345678") == "139****5678"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧**娜"


@pytest.mark.parametrize("cohort,today,expected", [
    (2026, date(2026, 6, 30), True),
    (2026, date(2027, 1, 31), True),   # the previous cohort until 31 January
    (2026, date(2027, 2, 1), False),
    (2025, date(2026, 11, 23), False),
    (2027, date(2026, 11, 23), True),
])
def test_cohort_window(cohort, today, expected):
    assert cohort_open(cohort, today) is expected


def test_training_modes_21_and_41_cannot_sign():
    assert not may_sign("21") and not may_sign("41")
    assert all(may_sign(m) for m in ("1", "22", "3", "42", "5"))
