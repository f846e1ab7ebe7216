"""Synthetic but valid sample data (ID numbers with correct check digits, roster files),
used by the demo command, the tests and the benchmarks."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from signing.personal import credit_code_check_char, id_check_char
from signing.roster import COLUMNS

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "志强", "晓东", "婧"]


def make_id_number(seq: int, region: str = "110101", birth: date | None = None) -> str:
    birth = birth or date(2003, 1, 1) + timedelta(days=seq % 1500)
    first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def make_credit_code(seq: int) -> str:
    first17 = f"91110000{seq:09d}"
    return first17 + credit_code_check_char(first17)


def make_phone(seq: int) -> str:
    return f"139{seq % 100_000_000:08d}"


def roster_row(seq: int, school_code: str, cohort: int, department: str = "计算机学院", level: str = "本科",
               training_mode: str = "1", major: str = "计算机科学与技术", name: str | None = None) -> dict:
    birth = date(cohort - 22, 1, 1) + timedelta(days=seq % 360)
    # region varies with seq so that more than 1000 graduates share no ID number
    region = f"11{(seq // 1000) % 100:02d}01"
    id_number = make_id_number(seq, region=region, birth=birth)
    return {
        "考生号": f"{cohort - 4}1101{seq:08d}", "姓名": name or SURNAMES[seq % 20] + GIVEN[(seq // 20) % 20],
        "性别": "男" if seq % 2 else "女", "出生日期": birth.isoformat(), "身份证号": id_number,
        "生源地": "北京市东城区", "民族": "汉族", "政治面貌": "共青团员", "院校代码": school_code,
        "院系": department, "专业": major, "学历层次": level,
        "学制": {"专科": "3", "本科": "4", "硕士": "3", "博士": "4"}[level],
        "入学年月": f"{cohort - {'专科': 3, '本科': 4, '硕士': 3, '博士': 4}[level]}09",
        "毕业年月": f"{cohort}06", "培养方式": training_mode, "学号": f"S{cohort}{seq:06d}",
        "手机号": make_phone(seq), "电子邮箱": f"student{seq}@example.edu.cn", "届别": str(cohort),
    }


def roster_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
