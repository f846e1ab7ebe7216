"""Warning employers (预警单位, SPEC 5): a school marks a unit (violation, fake unit, discrimination, false
advertising). The school's graduates and auditors see the warning wherever the unit is shown; once
NATIONWIDE_SCHOOLS or more schools mark the same unit, every graduate and auditor sees it."""
from __future__ import annotations

from signing.actors import Actor
from signing.errors import DomainError
from signing.oplog import record_operation
from signing.personal import credit_code_problem

CATEGORIES = {"violation": "违规单位", "fake": "虚假单位", "discrimination": "涉及就业歧视",
              "false_advertising": "涉及虚假宣传"}
NATIONWIDE_SCHOOLS = 5
# Who is shown warnings at all: the unit itself is not.
SHOWN_TO = ("graduate", "school", "department", "province", "ministry")


def _check(credit_code: str, unit_name: str, category: str) -> str:
    code = (credit_code or "").strip().upper()
    if problem := credit_code_problem(code):
        raise DomainError("invalid_credit_code", problem)
    if not (unit_name or "").strip():
        raise DomainError("invalid_input", "请填写单位名称")
    if category not in CATEGORIES:
        raise DomainError("invalid_input", "预警类型应为：" + "、".join(CATEGORIES.values()))
    return code


async def mark(db, actor: Actor, credit_code: str, unit_name: str, category: str, note: str | None) -> int:
    code = _check(credit_code, unit_name, category)
    async with db.transaction() as cur:
        await cur.execute("SELECT id FROM employer_warnings WHERE school_id=%s AND credit_code=%s FOR UPDATE",
                          (actor.school_id, code))
        if await cur.fetchone():
            raise DomainError("warning_exists")
        await cur.execute(
            "INSERT INTO employer_warnings (school_id, credit_code, unit_name, category, note, created_by)"
            " VALUES (%s,%s,%s,%s,%s,%s)", (actor.school_id, code, unit_name.strip(), category, note, actor.user_id))
        warning_id = cur.lastrowid
        await record_operation(cur, actor, "warning.mark", "employer_warning", warning_id,
                               f"标记预警单位：{unit_name.strip()}（{code}），{CATEGORIES[category]}")
    return warning_id


async def change(db, actor: Actor, warning_id: int, category: str | None, note: str | None) -> None:
    async with db.transaction() as cur:
        row = await _own(cur, actor, warning_id)
        category = category or row["category"]
        _check(row["credit_code"], row["unit_name"], category)
        await cur.execute("UPDATE employer_warnings SET category=%s, note=%s WHERE id=%s", (category, note, warning_id))
        await record_operation(cur, actor, "warning.change", "employer_warning", warning_id,
                               f"修改预警单位：{row['unit_name']}，{CATEGORIES[category]}")


async def remove(db, actor: Actor, warning_id: int) -> None:
    async with db.transaction() as cur:
        row = await _own(cur, actor, warning_id)
        await cur.execute("DELETE FROM employer_warnings WHERE id=%s", (warning_id,))
        await record_operation(cur, actor, "warning.remove", "employer_warning", warning_id,
                               f"取消预警单位：{row['unit_name']}（{row['credit_code']}）")


async def _own(cur, actor: Actor, warning_id: int) -> dict:
    await cur.execute("SELECT * FROM employer_warnings WHERE id=%s FOR UPDATE", (warning_id,))
    row = await cur.fetchone()
    if row is None or row["school_id"] != actor.school_id:
        raise DomainError("not_found")
    return row


async def school_warnings(db, school_id: int, page: int = 1, page_size: int = 50) -> list[dict]:
    """One school's marks, newest first, each with how many schools marked the unit and whether that is nationwide."""
    rows = await db.fetchall(
        "SELECT w.id, w.credit_code, w.unit_name, w.category, w.note, w.created_at, w.updated_at,"
        " (SELECT COUNT(*) FROM employer_warnings o WHERE o.credit_code=w.credit_code) AS schools"
        " FROM employer_warnings w WHERE w.school_id=%s ORDER BY w.id DESC LIMIT %s OFFSET %s",
        (school_id, page_size, (page - 1) * page_size))
    for r in rows:
        r["category_text"] = CATEGORIES[r["category"]]
        r["nationwide"] = r["schools"] >= NATIONWIDE_SCHOOLS
    return rows


async def nationwide_warnings(db, limit: int = 100) -> list[dict]:
    """Units marked by NATIONWIDE_SCHOOLS or more schools: every graduate and auditor sees these."""
    return await db.fetchall(
        "SELECT credit_code, MAX(unit_name) AS unit_name, COUNT(DISTINCT school_id) AS schools,"
        " MAX(updated_at) AS updated_at FROM employer_warnings GROUP BY credit_code"
        " HAVING COUNT(DISTINCT school_id) >= %s ORDER BY schools DESC, credit_code LIMIT %s",
        (NATIONWIDE_SCHOOLS, limit))


async def warning_for(cur, actor: Actor, school_id: int, credit_code: str | None) -> dict | None:
    """The warning the actor must see beside this unit on a record of `school_id`, or None."""
    if not credit_code or actor.role not in SHOWN_TO:
        return None
    await cur.execute("SELECT school_id, category FROM employer_warnings WHERE credit_code=%s", (credit_code,))
    marks = await cur.fetchall()
    own = [m for m in marks if m["school_id"] == school_id]
    nationwide = len({m["school_id"] for m in marks}) >= NATIONWIDE_SCHOOLS
    if not own and not nationwide:
        return None
    categories = sorted({CATEGORIES[m["category"]] for m in (marks if nationwide else own)})
    return {"marked_by_school": bool(own), "schools": len(marks), "nationwide": nationwide,
            "categories": categories,
            "text": ("该单位已被" + (f"{len(marks)}所高校" if nationwide else "本校") + "标记为预警单位："
                     + "、".join(categories) + "，请谨慎签约")}
