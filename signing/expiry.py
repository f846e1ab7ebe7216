"""Invitations past their response deadline become 签约邀请逾期未回应 (the accept guard refuses them even
before this job runs)."""
from __future__ import annotations

from datetime import datetime

from signing import clock
from signing.actors import SYSTEM
from signing.errors import DomainError
from signing.records_service import ActionInput, perform


async def expire_invitations(db, now: datetime | None = None, limit: int = 500) -> int:
    now = now or clock.now()
    rows = await db.fetchall(
        "SELECT r.id FROM records r JOIN graduates g ON g.id=r.graduate_id"
        " WHERE r.state='invited' AND r.deadline<=%s AND g.status='valid' ORDER BY r.deadline LIMIT %s", (now, limit))
    expired = 0
    for row in rows:
        try:
            await perform(db, SYSTEM, row["id"], "expire", ActionInput(), now=now)
            expired += 1
        except DomainError:
            continue  # answered meanwhile, or the graduate's cohort closed: nothing to expire
    return expired
