"""The EMS roster file (CSV or XLSX): parsing and whole-file validation. No database here."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

from signing.eligibility import LEVELS, TRAINING_MODES
from signing.errors import DomainError
from signing.personal import id_birth_date, id_number_problem, is_valid_phone, normalize_id_number

# Column header (as EMS exports it) -> field. English names are accepted too.
COLUMNS = {
    "考生号": "exam_number", "姓名": "name", "性别": "gender", "出生日期": "birth_date",
    "身份证号": "id_number", "生源地": "origin", "民族": "ethnicity", "政治面貌": "political_status",
    "院校代码": "school_code", "院系": "department", "专业": "major", "学历层次": "level",
    "学制": "study_length", "入学年月": "enrol_month", "毕业年月": "graduation_month",
    "培养方式": "training_mode", "学号": "student_number", "手机号": "phone", "电子邮箱": "email",
    "届别": "cohort",
}
FIELDS = tuple(COLUMNS.values())
REQUIRED = tuple(f for f in FIELDS if f not in ("phone", "email"))
HEADER_ALIASES = {**COLUMNS, **{f: f for f in FIELDS}}
MAX_ROWS = 100_000
_MONTH_RE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIMITS = {"exam_number": 20, "name": 50, "origin": 100, "ethnicity": 20, "political_status": 20,
           "department": 100, "major": 100, "student_number": 30, "email": 100, "gender": 4}


@dataclass
class RosterRow:
    line: int
    exam_number: str
    name: str
    gender: str
    birth_date: date
    id_number: str
    origin: str
    ethnicity: str
    political_status: str
    school_code: str
    department: str
    major: str
    level: str
    study_length: int
    enrol_month: str
    graduation_month: str
    training_mode: str
    student_number: str
    phone: str | None
    email: str | None
    cohort: int


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """Rows of cells as text, by the file's content (XLSX is a ZIP), not only its name."""
    if content[:4] == b"PK\x03\x04":
        return _read_xlsx(content)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise DomainError("roster_file_type", "文件名为XLSX，但内容不是有效的XLSX文件")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError("roster_file_type", "无法识别文件编码，请保存为UTF-8或GBK编码的CSV")
    if "\x00" in text:
        raise DomainError("roster_file_type")
    return [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]


def _read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise DomainError("roster_file_type", "XLSX文件已损坏或无法读取") from exc
    try:
        rows = []
        for values in wb.worksheets[0].iter_rows(values_only=True):
            cells = [_cell_text(v) for v in values]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        wb.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_roster(filename: str, content: bytes) -> list[RosterRow]:
    """Parse and validate the whole file; any bad row refuses the file with every row's reason."""
    table = read_table(filename, content)
    if not table:
        raise DomainError("roster_file_invalid", "名单文件为空")
    header = [HEADER_ALIASES.get(h.strip()) for h in table[0]]
    missing = [name for name, f in COLUMNS.items() if f in REQUIRED and f not in header]
    if missing:
        raise DomainError("roster_file_invalid", "名单缺少必填列：" + "、".join(missing))
    body = table[1:]
    if not body:
        raise DomainError("roster_file_invalid", "名单中没有毕业生")
    if len(body) > MAX_ROWS:
        raise DomainError("roster_file_invalid", f"名单超过{MAX_ROWS}行，请分批导入")
    rows, errors, seen = [], [], {}
    for offset, cells in enumerate(body):
        line = offset + 2  # 1-based, after the header line
        raw = {f: (cells[i].strip() if i < len(cells) else "") for i, f in enumerate(header) if f}
        row, problems = _validate_row(line, raw)
        if row is not None:
            key = (row.id_number, row.cohort)
            if key in seen:
                problems.append(f"身份证号与第{seen[key]}行重复")
            seen.setdefault(key, line)
        if problems:
            errors.append({"line": line, "reasons": problems})
        else:
            rows.append(row)
    schools = {r.school_code for r in rows}
    cohorts = {r.cohort for r in rows}
    if not errors and (len(schools) > 1 or len(cohorts) > 1):
        errors.append({"line": 0, "reasons": ["一个名单文件只能包含同一院校、同一届别的毕业生"]})
    if errors:
        raise DomainError("roster_file_invalid", f"名单有{len(errors)}行错误，未导入任何数据", errors)
    return rows


def _validate_row(line: int, raw: dict) -> tuple[RosterRow | None, list[str]]:
    problems = []
    for f in REQUIRED:
        if not raw.get(f):
            problems.append(f"{_label(f)}不能为空")
    for f, limit in _LIMITS.items():
        if len(raw.get(f) or "") > limit:
            problems.append(f"{_label(f)}超过{limit}个字符")
    id_number = normalize_id_number(raw.get("id_number", ""))
    if raw.get("id_number") and (p := id_number_problem(id_number)):
        problems.append(p)
    if raw.get("gender") and raw["gender"] not in ("男", "女"):
        problems.append("性别应为“男”或“女”")
    if raw.get("level") and raw["level"] not in LEVELS:
        problems.append("学历层次应为专科、本科、硕士或博士")
    if raw.get("training_mode") and raw["training_mode"] not in TRAINING_MODES:
        problems.append("培养方式代码应为1、21、22、3、41、42或5")
    for f in ("enrol_month", "graduation_month"):
        if raw.get(f) and not _MONTH_RE.match(raw[f]):
            problems.append(f"{_label(f)}应为YYYYMM格式")
    birth = _parse_date(raw.get("birth_date", ""))
    if raw.get("birth_date") and birth is None:
        problems.append("出生日期应为YYYY-MM-DD格式")
    elif birth and raw.get("id_number") and not id_number_problem(id_number) and birth != id_birth_date(id_number):
        problems.append("出生日期与身份证号不一致")
    study_length = raw.get("study_length", "")
    if study_length and not (study_length.isdigit() and 1 <= int(study_length) <= 9):
        problems.append("学制应为1到9的整数")
    cohort = raw.get("cohort", "")
    if cohort and not (cohort.isdigit() and 2000 <= int(cohort) <= 2100):
        problems.append("届别应为四位年份")
    phone = raw.get("phone") or None
    if phone and not is_valid_phone(phone):
        problems.append("手机号应为11位手机号码")
    email = raw.get("email") or None
    if email and not _EMAIL_RE.match(email):
        problems.append("电子邮箱格式不正确")
    if problems:
        return None, problems
    return RosterRow(
        line=line, exam_number=raw["exam_number"], name=raw["name"], gender=raw["gender"],
        birth_date=birth, id_number=id_number, origin=raw["origin"], ethnicity=raw["ethnicity"],
        political_status=raw["political_status"], school_code=raw["school_code"],
        department=raw["department"], major=raw["major"], level=raw["level"],
        study_length=int(study_length), enrol_month=raw["enrol_month"],
        graduation_month=raw["graduation_month"], training_mode=raw["training_mode"],
        student_number=raw["student_number"], phone=phone, email=email, cohort=int(cohort),
    ), []


def _parse_date(value: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _label(field: str) -> str:
    return next(name for name, f in COLUMNS.items() if f == field)
