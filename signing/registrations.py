"""Archive and hukou registration (档案 / 户口信息登记): separate modules switched on by the province. The
graduate says where the personal archive is forwarded and how the hukou moves; school and department
accounts with read-write permission on that module review it (approve, or return with a reason)."""
from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.logs import current_request_id
from signing import clock, policy
from signing.actors import Actor
from signing.eligibility import ensure_graduate_may_act
from signing.errors import DomainError
from signing.oplog import record_operation

MODULES = {"archive": "档案信息登记", "hukou": "户口信息登记"}
ARCHIVE_RECEIVERS = ("托管单位接收", "上级主管单位接收", "用人单位接收", "转回生源地", "升学学校接收", "其他")
HUKOU_MOVES = ("迁往单位所在地", "迁往托管单位", "迁回生源地", "迁往升学学校", "不迁移", "其他")
FIELD_LABELS = {"address": "地址", "postcode": "邮政编码（6位数字）", "contact": "联系人", "phone": "联系电话",
                "receiver_type": "档案接收方式", "receiver_name": "接收单位名称", "move_type": "户口迁移方式"}
EDITABLE = ("draft", "returned")  # a submitted or approved registration waits or stands


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    address: str = Field(min_length=2, max_length=200)
    postcode: str = Field(pattern=r"^\d{6}$")
    contact: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=20)


class ArchiveData(_Data):
    receiver_type: str
    receiver_name: str = Field(min_length=2, max_length=100)


class HukouData(_Data):
    move_type: str


def parse(module: str, raw: dict, draft: bool = False) -> dict:
    """The registration data, validated by the module's model: complete for a submission; for a draft the same
    fields, types and choices, any of them may be missing (unknown fields and nested objects are refused)."""
    model = ArchiveData if module == "archive" else HukouData
    try:
        data = model.model_validate(raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        errors = [e for e in exc.errors(include_url=False, include_input=False)
                  if not (draft and e["type"] == "missing")]
        if errors:
            fields = sorted({str(e["loc"][0]) if e["loc"] else "data" for e in errors})
            raise DomainError("invalid_record_data", "以下信息不完整或格式不正确：" + "、".join(
                FIELD_LABELS.get(f, "其他信息") for f in fields), [{"field": f} for f in fields]) from exc
        data = {k: v.strip() if isinstance(v, str) else v for k, v in raw.items() if v is not None}
    choice, allowed = (("receiver_type", ARCHIVE_RECEIVERS) if module == "archive" else ("move_type", HUKOU_MOVES))
    if choice in data and data[choice] not in allowed:
        raise DomainError("invalid_record_data", "请从列表中选择：" + "、".join(allowed))
    return data


async def _module_on(cur, school_id: int, module: str) -> None:
    await cur.execute(f"SELECT p.module_{module} AS on_ FROM schools s JOIN provinces p ON p.code=s.province_code"
                      " WHERE s.id=%s", (school_id,))  # module is one of MODULES, never input
    if not (await cur.fetchone())["on_"]:
        raise DomainError("module_disabled", f"本省尚未开启{MODULES[module]}")


async def save(db, actor: Actor, module: str, raw: dict, submit: bool) -> dict:
    """The graduate saves (draft) or submits their registration; editable while draft or returned."""
    data = parse(module, raw, draft=not submit)
    async with db.transaction() as cur:
        await cur.execute("SELECT * FROM graduates WHERE id=%s LOCK IN SHARE MODE", (actor.graduate_id,))
        g = await cur.fetchone()
        ensure_graduate_may_act(g, clock.today())
        await _module_on(cur, g["school_id"], module)
        await cur.execute("SELECT id, status FROM registrations WHERE graduate_id=%s AND module=%s FOR UPDATE",
                          (g["id"], module))
        row = await cur.fetchone()
        if row and row["status"] not in EDITABLE:
            raise DomainError("action_not_allowed", "登记信息已提交，审核通过或退回前不能修改")
        status = "submitted" if submit else "draft"
        payload = json.dumps(data, ensure_ascii=False)
        if row:
            await cur.execute("UPDATE registrations SET status=%s, data=%s, reason=NULL, version=version+1 WHERE id=%s",
                              (status, payload, row["id"]))
            reg_id = row["id"]
        else:
            await cur.execute(
                "INSERT INTO registrations (module, graduate_id, school_id, cohort, department, level, status, data)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                (module, g["id"], g["school_id"], g["cohort"], g["department"], g["level"], status, payload))
            reg_id = cur.lastrowid
        await record_operation(cur, actor, f"registration.{status}", "registration", reg_id,
                               f"{MODULES[module]}：{'提交审核' if submit else '暂存'}", school_id=g["school_id"])
    return await get(db, reg_id)


# decision -> (the registration's new status, the decision's name in the operation log, the notification and
# the console's notice, the status the graduate is told)
DECISIONS = {"approve": ("approved", "审核通过", "审核通过"),
             "return": ("returned", "退回修改", "已退回，请修改后重新提交")}


async def review(db, actor: Actor, reg_id: int, decision: str, reason: str | None, version: int | None) -> dict:
    if decision not in DECISIONS:
        raise DomainError("invalid_input", "请选择审核通过或退回修改")
    status, decision_text, status_text = DECISIONS[decision]
    async with db.transaction() as cur:
        cond, args = policy.registration_scope(actor, "r")
        await cur.execute(f"SELECT * FROM registrations r WHERE r.id=%s AND {cond} FOR UPDATE", (reg_id, *args))
        row = await cur.fetchone()
        if row is None:
            raise DomainError("not_found")
        if actor.permission(row["module"]) != "read_write":
            raise DomainError("read_only" if actor.permission(row["module"]) == "read_only" else "forbidden")
        if version is not None and version != row["version"]:
            raise DomainError("stale_version")
        if row["status"] != "submitted":
            raise DomainError("action_not_allowed", "只能审核已提交的登记信息")
        if decision == "return" and not (reason or "").strip():
            raise DomainError("explanation_required", "退回修改时请填写原因")
        await cur.execute("UPDATE registrations SET status=%s, reason=%s, reviewed_by=%s, reviewed_at=NOW(),"
                          " version=version+1 WHERE id=%s", (status, reason if status == "returned" else None,
                                                             actor.user_id, reg_id))
        await record_operation(cur, actor, f"registration.{decision}", "registration", reg_id,
                               f"{MODULES[row['module']]}：{decision_text}",
                               school_id=row["school_id"])
        # the graduate hears the result like every audit result, through the outbox of this transaction
        await cur.execute(
            "INSERT INTO outbox (topic, idempotency_key, graduate_id, payload, request_id)"
            " VALUES ('notify', %s, %s, %s, %s)",
            (f"registration:{reg_id}:{row['version'] + 1}", row["graduate_id"], json.dumps({
                "template": "audit_result", "record_id": None, "event_id": None, "kind": "registration",
                "kind_text": MODULES[row["module"]], "action": "pass" if status == "approved" else "return",
                "action_text": decision_text, "state": status, "status_text": status_text,
                "unit_name": None, "actor_role": actor.role, "reason": None, "explanation": reason,
                "changed_fields": [], "sms": False, "link": "/wx/home", "deadline": None}, ensure_ascii=False),
             current_request_id()))
    return await get(db, reg_id)


async def get(db, reg_id: int) -> dict:
    row = await db.fetchone("SELECT * FROM registrations WHERE id=%s", (reg_id,))
    row["data"] = json.loads(row["data"])
    row["module_text"] = MODULES[row["module"]]
    return row
