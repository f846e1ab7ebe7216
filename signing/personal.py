"""Personal identifiers: validation by check digit, and masking for lists and logs."""
from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z), weights 3^i mod 31.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper()


def id_number_problem(value: str) -> str | None:
    """None when the resident ID number (GB 11643) is valid, else the reason in Chinese."""
    v = normalize_id_number(value)
    if not _ID_RE.match(v):
        return "身份证号应为18位，前17位为数字，最后一位为数字或X"
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    total = sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != v[17]:
        return "身份证号校验位不正确"
    return None


def id_birth_date(value: str) -> date:
    v = normalize_id_number(value)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def is_valid_phone(value: str) -> bool:
    return bool(_PHONE_RE.match(value or ""))


def credit_code_problem(value: str) -> str | None:
    """None when the unified social credit code (统一社会信用代码) is valid, else the reason."""
    v = (value or "").strip().upper()
    if len(v) != 18 or any(c not in _USCC_ALPHABET for c in v):
        return "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(v[:17], _USCC_WEIGHTS, strict=True))
    if _USCC_ALPHABET[(31 - total % 31) % 31] != v[17]:
        return "统一社会信用代码校验位不正确"
    return None


def credit_code_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_id_number(value: str) -> str:
    v = normalize_id_number(value)
    return v[:4] + "*" * (len(v) - 8) + v[-4:] if len(v) > 8 else "*" * len(v)


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if value and len(value) >= 7 else "****"


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧**娜: for public pages (agreement verification)."""
    if len(value) <= 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
