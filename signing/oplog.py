"""Operation log (操作日志): every change by any user, written in the same transaction as the change."""
from __future__ import annotations

from signing.actors import Actor


async def record_operation(cur, actor: Actor, action: str, target_type: str, target_id, summary: str,
                           school_id: int | None = None, province_code: str | None = None) -> None:
    """summary must already be masked: it is shown in lists and kept for years."""
    await cur.execute(
        "INSERT INTO operation_log (user_id, role, actor_name, action, target_type, target_id,"
        " province_code, school_id, summary, ip) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        (actor.user_id, actor.role, actor.name, action, target_type, str(target_id),
         province_code or actor.province_code, school_id or actor.school_id, summary[:500], actor.ip),
    )
