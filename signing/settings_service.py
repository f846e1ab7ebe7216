"""Province and school settings (SPEC section 3), every constraint enforced here and nowhere else."""
from __future__ import annotations

import re

from signing import clock
from signing.actors import Actor
from signing.errors import DomainError
from signing.oplog import record_operation

PROVINCE_MODULES = ("module_employment", "module_archive", "module_hukou")
MODULE_TEXT = {"module_employment": "毕业去向登记与网签", "module_archive": "档案信息登记", "module_hukou": "户口信息登记"}
AGREEMENT_TYPES = {"two_party": "两方协议（院校鉴证）", "three_party": "三方协议（院校审核）"}
AUDIT_MODES = {"school": "仅校级审核", "department_then_school": "先院系再校级审核"}
LEVEL_GROUPS = {"all": "全部", "undergraduate": "本专科", "postgraduate": "研究生"}
_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")
_POSTCODE_RE = re.compile(r"^\d{6}$")


# ---- province -------------------------------------------------------------------------------

async def get_province(cur, code: str) -> dict:
    await cur.execute("SELECT * FROM provinces WHERE code=%s", (code,))
    row = await cur.fetchone()
    if row is None:
        raise DomainError("not_found")
    return row


async def update_province(db, actor: Actor, code: str, changes: dict) -> dict:
    """changes: agreement_type and/or module_* booleans. Modules never switch off once on."""
    async with db.transaction() as cur:
        await cur.execute("SELECT * FROM provinces WHERE code=%s FOR UPDATE", (code,))
        current = await cur.fetchone()
        if current is None:
            raise DomainError("not_found")
        new = dict(current)
        if "agreement_type" in changes and changes["agreement_type"] != current["agreement_type"]:
            if current["module_employment"]:
                raise DomainError("agreement_type_locked")
            new["agreement_type"] = changes["agreement_type"]
        for module in PROVINCE_MODULES:
            if module in changes and bool(changes[module]) != bool(current[module]):
                if not changes[module]:
                    raise DomainError("province_module_irreversible")
                new[module] = 1
        if new["module_employment"] and not new["agreement_type"]:
            raise DomainError("province_agreement_type_required")
        if new == current:
            return current
        await cur.execute(
            "UPDATE provinces SET agreement_type=%s, module_employment=%s, module_archive=%s, module_hukou=%s"
            " WHERE code=%s",
            (new["agreement_type"], new["module_employment"], new["module_archive"], new["module_hukou"], code),
        )
        switched = [m for m in PROVINCE_MODULES if new[m] != current[m]]
        await record_operation(
            cur, actor, "province.settings", "province", code,
            "修改省级功能设置：" + "，".join(
                [f"协议类型={AGREEMENT_TYPES.get(new['agreement_type'], '未设置')}"] + [f"开启{MODULE_TEXT[m]}" for m in switched]),
            province_code=code,
        )
        return new


# ---- school ---------------------------------------------------------------------------------

async def get_school_settings(cur, school_id: int, cohort: int) -> dict:
    await cur.execute("SELECT * FROM school_settings WHERE school_id=%s AND cohort=%s", (school_id, cohort))
    settings = await cur.fetchone() or {
        "school_id": school_id, "cohort": cohort, "online_signing": 0, "audit_mode": "school",
        "max_cancellations": 3, "handler_mode": None, "first_action_at": None,
    }
    await cur.execute(
        "SELECT level_group, name, phone, address, postcode, created_at FROM agreement_handlers"
        " WHERE school_id=%s AND cohort=%s ORDER BY level_group", (school_id, cohort))
    settings["handlers"] = list(await cur.fetchall())
    return settings


async def update_school_settings(db, actor: Actor, school_id: int, cohort: int, changes: dict) -> dict:
    async with db.transaction() as cur:
        await cur.execute(
            "SELECT s.id, s.province_code, p.module_employment FROM schools s"
            " JOIN provinces p ON p.code=s.province_code WHERE s.id=%s FOR UPDATE", (school_id,))
        school = await cur.fetchone()
        if school is None:
            raise DomainError("not_found")
        await _ensure_settings_row(cur, school_id, cohort)
        await cur.execute(
            "SELECT * FROM school_settings WHERE school_id=%s AND cohort=%s FOR UPDATE", (school_id, cohort))
        current = await cur.fetchone()
        described = []
        if "online_signing" in changes and bool(changes["online_signing"]) != bool(current["online_signing"]):
            if changes["online_signing"]:
                if not school["module_employment"]:
                    raise DomainError("province_module_off")
            elif current["first_action_at"] is not None or await _any_record(cur, school_id, cohort):
                raise DomainError("online_signing_irreversible")
            current["online_signing"] = int(bool(changes["online_signing"]))
            described.append("在线签约" + ("开启（补登、去向登记同步开启）" if current["online_signing"] else "关闭"))
        if "audit_mode" in changes and changes["audit_mode"] != current["audit_mode"]:
            if await _records_in_flow(cur, school_id, cohort):
                raise DomainError("audit_mode_records_in_flow")
            if changes["audit_mode"] == "department_then_school":
                missing = await _departments_without_rw_account(cur, school_id, cohort)
                if missing:
                    raise DomainError(
                        "audit_mode_department_accounts",
                        "以下院系没有读写权限的院系账号：" + "、".join(missing[:20]), {"departments": missing})
            current["audit_mode"] = changes["audit_mode"]
            described.append("审核方式：" + AUDIT_MODES[current["audit_mode"]])
        if "max_cancellations" in changes and changes["max_cancellations"] != current["max_cancellations"]:
            value = changes["max_cancellations"]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 99:
                raise DomainError("max_cancellations_range")
            current["max_cancellations"] = value
            described.append(f"解约申请次数上限：{value}")
        await cur.execute(
            "UPDATE school_settings SET online_signing=%s, audit_mode=%s, max_cancellations=%s"
            " WHERE school_id=%s AND cohort=%s",
            (current["online_signing"], current["audit_mode"], current["max_cancellations"], school_id, cohort))
        if described:
            await record_operation(cur, actor, "school.settings", "school_settings", f"{school_id}/{cohort}",
                                   f"{cohort}届签约设置：" + "；".join(described), school_id=school_id,
                                   province_code=school["province_code"])
        return await get_school_settings(cur, school_id, cohort)


async def add_agreement_handlers(db, actor: Actor, school_id: int, cohort: int, mode: str,
                                 handlers: dict[str, dict]) -> dict:
    """mode unified: handlers {'all': {...}}; per_level: 'undergraduate' and/or 'postgraduate'.
    Submitted handlers are immutable; a missing level may still be added."""
    expected = {"all"} if mode == "unified" else {"undergraduate", "postgraduate"}
    if mode not in ("unified", "per_level") or not handlers or not set(handlers) <= expected:
        raise DomainError("invalid_input", "协议经办人的设置方式与学历层次不匹配")
    scope = actor.level_scope
    if scope != "all" and (mode == "unified" or set(handlers) != {scope}):
        raise DomainError("handler_level_forbidden")
    for level, h in handlers.items():
        _check_handler(level, h)
    async with db.transaction() as cur:
        await cur.execute("SELECT province_code FROM schools WHERE id=%s FOR UPDATE", (school_id,))
        school = await cur.fetchone()
        await _ensure_settings_row(cur, school_id, cohort)
        await cur.execute("SELECT level_group FROM agreement_handlers WHERE school_id=%s AND cohort=%s",
                          (school_id, cohort))
        existing = {r["level_group"] for r in await cur.fetchall()}
        if existing & set(handlers):
            raise DomainError("handler_immutable")
        if existing and (("all" in existing) != (mode == "unified")):
            raise DomainError("handler_level_conflict")
        for level, h in handlers.items():
            await cur.execute(
                "INSERT INTO agreement_handlers (school_id, cohort, level_group, name, phone, address, postcode,"
                " created_by) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                (school_id, cohort, level, h["name"].strip(), h["phone"].strip(), h["address"].strip(),
                 h["postcode"].strip(), actor.user_id))
        await cur.execute("UPDATE school_settings SET handler_mode=%s WHERE school_id=%s AND cohort=%s",
                          (mode, school_id, cohort))
        await record_operation(
            cur, actor, "school.agreement_handler", "school_settings", f"{school_id}/{cohort}",
            f"{cohort}届设置协议经办人：" + "、".join(f"{LEVEL_GROUPS[lv]}={h['name'].strip()}" for lv, h in handlers.items()),
            school_id=school_id, province_code=school["province_code"])
        return await get_school_settings(cur, school_id, cohort)


async def _ensure_settings_row(cur, school_id: int, cohort: int) -> None:
    """Settings exist for cohorts that exist: the current and the next one, or one on the school's roster."""
    await cur.execute("SELECT 1 FROM school_settings WHERE school_id=%s AND cohort=%s", (school_id, cohort))
    if await cur.fetchone():
        return
    if cohort not in (clock.today().year, clock.today().year + 1):
        await cur.execute("SELECT 1 FROM graduates WHERE school_id=%s AND cohort=%s LIMIT 1", (school_id, cohort))
        if not await cur.fetchone():
            raise DomainError("cohort_unknown")
    await cur.execute("INSERT INTO school_settings (school_id, cohort) VALUES (%s,%s)"
                      " ON DUPLICATE KEY UPDATE school_id=school_id", (school_id, cohort))


def _check_handler(level: str, h: dict) -> None:
    label = LEVEL_GROUPS[level]
    if not (h.get("name") or "").strip() or len(h["name"].strip()) > 50:
        raise DomainError("invalid_input", f"{label}协议经办人姓名不能为空，且不超过50个字符")
    if not _PHONE_RE.match((h.get("phone") or "").strip()):
        raise DomainError("invalid_input", f"{label}协议经办人联系电话格式不正确")
    if not (h.get("address") or "").strip() or len(h["address"].strip()) > 200:
        raise DomainError("invalid_input", f"{label}学校通讯地址不能为空，且不超过200个字符")
    if not _POSTCODE_RE.match((h.get("postcode") or "").strip()):
        raise DomainError("invalid_input", f"{label}邮政编码应为6位数字")


async def _departments_without_rw_account(cur, school_id: int, cohort: int) -> list[str]:
    await cur.execute(
        "SELECT DISTINCT g.department FROM graduates g WHERE g.school_id=%s AND g.cohort=%s AND g.status='valid'"
        " AND NOT EXISTS (SELECT 1 FROM users u JOIN user_permissions p ON p.user_id=u.id"
        "   AND p.module='employment' AND p.level='read_write'"
        "   WHERE u.role='department' AND u.is_active=1 AND u.school_id=g.school_id AND u.department=g.department)"
        " ORDER BY g.department", (school_id, cohort))
    return [r["department"] for r in await cur.fetchall()]


async def _any_record(cur, school_id: int, cohort: int) -> bool:
    await cur.execute("SELECT 1 FROM records WHERE school_id=%s AND cohort=%s LIMIT 1", (school_id, cohort))
    return await cur.fetchone() is not None


async def _records_in_flow(cur, school_id: int, cohort: int) -> bool:
    await cur.execute(
        "SELECT 1 FROM records WHERE school_id=%s AND cohort=%s AND in_flow=1 LIMIT 1", (school_id, cohort))
    return await cur.fetchone() is not None
