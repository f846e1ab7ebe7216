"""The outbox's delivery leases: workers claim due entries of a topic (the earliest pending one of each graduate,
so a graduate's entries go in order), then mark each done or due again after an exponential backoff. Used by the
EMS sync, the notification delivery and the agreement documents; several workers may run at once."""
from __future__ import annotations

import random
import secrets

import orjson

LEASE_SECONDS = 60          # a claimed entry is invisible to other workers this long
MAX_BACKOFF_SECONDS = 600   # a day of EMS downtime is retried at most every 10 minutes, never given up

# The earliest pending entry of each graduate, when due: later entries of the same graduate wait for it.
# Only the ids: a claim looks at four times the batch and keeps a random batch of them (see claim_due); reading
# and decoding every candidate's payload was most of a claim's time.
_DUE = (
    "SELECT o.id FROM outbox o"
    " WHERE o.topic=%s AND o.status='pending' AND o.next_attempt_at<=NOW(3)"
    " AND o.id=(SELECT MIN(o2.id) FROM outbox o2 WHERE o2.topic=o.topic AND o2.graduate_id=o.graduate_id"
    "           AND o2.status='pending')"
    " ORDER BY o.id LIMIT %s"
)


def backoff_seconds(attempts: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 10)) * random.uniform(0.8, 1.2)


async def claim_due(db, topic: str, batch: int) -> list[dict]:
    """Due entries this worker now owns. One UPDATE leases the whole batch under this claim's token (a row that
    another worker leased in between no longer matches), and the rows carrying the token are this worker's."""
    due = [row["id"] for row in await db.fetchall(_DUE, (topic, batch * 4))]
    if not due:
        return []
    if len(due) > batch:  # workers claiming at once pick different rows among the oldest, not all the same ones
        due = sorted(random.sample(due, batch))
    token = secrets.token_hex(8)
    marks = ",".join(["%s"] * len(due))
    async with db.cursor() as cur:
        await cur.execute(
            "UPDATE outbox SET next_attempt_at=NOW(3) + INTERVAL %s SECOND, lease_token=%s"
            f" WHERE id IN ({marks}) AND status='pending' AND next_attempt_at<=NOW(3)",
            [LEASE_SECONDS, token, *due])
        await cur.execute("SELECT id, graduate_id, idempotency_key, payload, attempts, request_id FROM outbox"
                          " WHERE lease_token=%s ORDER BY id", (token,))
        claimed = list(await cur.fetchall())
    for row in claimed:
        row["payload"] = orjson.loads(row["payload"])
    return claimed


async def mark_done(db, *entry_ids: int) -> None:
    """The entries are done: one statement for a whole batch (the notifier marks 200 at a time)."""
    if not entry_ids:
        return
    async with db.cursor() as cur:
        await cur.execute("UPDATE outbox SET status='done', done_at=NOW(3), attempts=attempts+1, last_error=NULL"
                          f" WHERE id IN ({','.join(['%s'] * len(entry_ids))})", entry_ids)


async def mark_retry(db, entry: dict, error: str, delay: float | None = None) -> None:
    delay = backoff_seconds(entry["attempts"] + 1) if delay is None else delay
    async with db.cursor() as cur:
        await cur.execute("UPDATE outbox SET attempts=attempts+1, last_error=%s,"
                          " next_attempt_at=NOW(3) + INTERVAL %s MICROSECOND WHERE id=%s",
                          (error[:500], int(delay * 1_000_000), entry["id"]))
