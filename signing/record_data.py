"""What a record holds: unit and position data for agreements, type and fields for destinations.
Drafts may be incomplete; a submission must be complete."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from signing.codes import JOB_CATEGORIES, UNIT_INDUSTRIES, UNIT_NATURES
from signing.errors import DomainError
from signing.personal import credit_code_problem, is_valid_phone

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LABELS = {
    "unit_name": "单位名称", "credit_code": "统一社会信用代码", "unit_nature": "单位性质", "unit_industry": "单位行业",
    "unit_location": "单位所在地", "unit_address": "通讯地址", "job_category": "职位类别", "position_title": "职位名称",
    "work_location": "工作地点", "contact_name": "单位联系人", "contact_phone": "联系人电话",
    "contact_mobile": "联系人手机", "contact_email": "联系人邮箱", "takes_hukou_archive": "单位是否解决户档",
    "supplementary_terms": "协议补充内容", "type_code": "去向类型", "fields": "去向信息", "salary": "薪酬待遇",
    "report_date": "报到日期",
}
AGREEMENT_REQUIRED = ("unit_name", "credit_code", "unit_nature", "unit_industry", "unit_location", "unit_address",
                      "job_category", "contact_name", "contact_mobile", "takes_hukou_archive")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class AgreementData(_Data):
    """协议信息: the unit, the position and the terms (online, offline and paper agreements)."""
    unit_name: str | None = Field(default=None, max_length=100)
    credit_code: str | None = Field(default=None, max_length=18)
    unit_nature: str | None = None
    unit_industry: str | None = None
    unit_location: str | None = Field(default=None, max_length=60)
    unit_address: str | None = Field(default=None, max_length=200)
    job_category: str | None = None
    position_title: str | None = Field(default=None, max_length=50)
    work_location: str | None = Field(default=None, max_length=60)
    salary: str | None = Field(default=None, max_length=50)  # 薪酬待遇, as the parties write it (e.g. 月薪8000元)
    report_date: str | None = Field(default=None, pattern=r"^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")  # 报到日期
    contact_name: str | None = Field(default=None, max_length=30)
    contact_phone: str | None = Field(default=None, max_length=20)
    contact_mobile: str | None = Field(default=None, max_length=11)
    contact_email: str | None = Field(default=None, max_length=100)
    takes_hukou_archive: bool | None = None
    supplementary_terms: str | None = Field(default=None, max_length=1000)

    @field_validator("unit_nature", "unit_industry", "job_category")
    @classmethod
    def _known_code(cls, value, info):
        if value is not None and value not in _CODE_LISTS[info.field_name]:
            raise ValueError(f"unknown {info.field_name} code")
        return value


_CODE_LISTS = {"unit_nature": UNIT_NATURES, "unit_industry": UNIT_INDUSTRIES, "job_category": JOB_CATEGORIES}


class DestinationData(_Data):
    """其他毕业去向: a destination type (codes kept in the destination_types table) and its fields."""
    type_code: str | None = Field(default=None, max_length=8)
    fields: dict[str, str] = Field(default_factory=dict, max_length=12)
    note: str | None = Field(default=None, max_length=500)


MODELS = {"online": AgreementData, "offline": AgreementData, "paper": AgreementData, "destination": DestinationData}


def parse_data(kind: str, raw: dict) -> dict:
    """Validate shape and codes (drafts may be partial); returns the normalised dict."""
    try:
        model = MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        names = "、".join(dict.fromkeys(_LABELS.get(str(d["field"]).split(".")[0], d["field"]) for d in details))
        raise DomainError("invalid_record_data", f"以下信息格式不正确：{names}", details) from exc
    data = model.model_dump(exclude_none=True)
    if kind == "destination":
        for key, value in data.get("fields", {}).items():
            if len(key) > 30 or len(value) > 100 or "\n" in value:
                raise DomainError("invalid_record_data", f"去向信息“{key}”过长或含有换行")
    return data


def require_complete_agreement(data: dict) -> None:
    missing = [f for f in AGREEMENT_REQUIRED if data.get(f) in (None, "")]
    if missing:
        raise DomainError("record_incomplete", "请填写：" + "、".join(_LABELS[f] for f in missing),
                          {"missing": missing})
    if problem := credit_code_problem(data["credit_code"]):
        raise DomainError("invalid_credit_code", problem, [{"field": "credit_code", "problem": problem}])
    if not is_valid_phone(data["contact_mobile"]):
        raise DomainError("invalid_record_data", "联系人手机应为11位手机号码", [{"field": "contact_mobile"}])
    if data.get("contact_email") and not _EMAIL_RE.match(data["contact_email"]):
        raise DomainError("invalid_record_data", "联系人邮箱格式不正确", [{"field": "contact_email"}])


def require_complete_destination(data: dict, destination_type: dict | None) -> None:
    if destination_type is None:
        raise DomainError("unknown_destination_type")
    fields = data.get("fields", {})
    missing = [f["label"] for f in destination_type["fields"] if not fields.get(f["name"])]
    if missing:
        raise DomainError("record_incomplete", "请填写：" + "、".join(missing), {"missing": missing})
    allowed = {f["name"] for f in destination_type["fields"]}
    extra = sorted(set(fields) - allowed)
    if extra:
        raise DomainError("invalid_record_data", "该去向类型不需要这些信息：" + "、".join(extra))


def apply_changes(data: dict, changes: dict, editable: tuple[str, ...]) -> tuple[dict, dict]:
    """An edit by a school: only the fields the transition allows. Returns (new data, {field: [old, new]})."""
    forbidden = sorted(set(changes) - set(editable))
    if forbidden or not changes:
        raise DomainError("field_not_editable", "只能修改：" + "、".join(_LABELS.get(f, f) for f in editable),
                          {"editable": list(editable)})
    merged = {**data, **changes}
    return merged, {k: [data.get(k), v] for k, v in changes.items() if data.get(k) != v}
