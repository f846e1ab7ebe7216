"""EMS sync: pushes outbox 'ems_sync' entries to EMS_SYNC_URL as JSON, in order per graduate, retried with
backoff until acknowledged. Each push carries an idempotency key EMS de-duplicates on, so a retry after a
lost acknowledgement applies nothing twice."""
from __future__ import annotations

import json
import logging
import random

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

log = logging.getLogger("wangqian.ems")
LEASE_SECONDS = 60          # a claimed entry is invisible to other workers this long
MAX_BACKOFF_SECONDS = 600   # a day of EMS downtime is retried at most every 10 minutes, never given up

# The earliest pending entry of each graduate, when due: later entries of the same graduate wait for it.
_DUE = (
    "SELECT o.id, o.graduate_id, o.idempotency_key, o.payload, o.attempts FROM outbox o"
    " WHERE o.topic=%s AND o.status='pending' AND o.next_attempt_at<=NOW(3)"
    " AND o.id=(SELECT MIN(o2.id) FROM outbox o2 WHERE o2.topic=o.topic AND o2.graduate_id=o.graduate_id"
    "           AND o2.status='pending')"
    " ORDER BY o.id LIMIT %s"
)


def backoff_seconds(attempts: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 10)) * random.uniform(0.8, 1.2)


async def claim_due(db, topic: str, batch: int) -> list[dict]:
    """Due entries this worker now owns (a lease: the update succeeds for one worker only)."""
    claimed = []
    for row in await db.fetchall(_DUE, (topic, batch)):
        async with db.cursor() as cur:
            await cur.execute(
                "UPDATE outbox SET next_attempt_at=NOW(3) + INTERVAL %s SECOND"
                " WHERE id=%s AND status='pending' AND next_attempt_at<=NOW(3)", (LEASE_SECONDS, row["id"]))
            if cur.rowcount == 1:
                row["payload"] = json.loads(row["payload"])
                claimed.append(row)
    return claimed


async def mark_done(db, entry_id: int) -> None:
    async with db.cursor() as cur:
        await cur.execute("UPDATE outbox SET status='done', done_at=NOW(3), attempts=attempts+1, last_error=NULL"
                          " WHERE id=%s", (entry_id,))


async def mark_retry(db, entry: dict, error: str, delay: float | None = None) -> None:
    delay = backoff_seconds(entry["attempts"] + 1) if delay is None else delay
    async with db.cursor() as cur:
        await cur.execute("UPDATE outbox SET attempts=attempts+1, last_error=%s,"
                          " next_attempt_at=NOW(3) + INTERVAL %s MICROSECOND WHERE id=%s",
                          (error[:500], int(delay * 1_000_000), entry["id"]))


class EmsSync:
    def __init__(self, db, vault, url: str, timeout: float = 5.0):
        self.db, self.vault, self.url, self.timeout = db, vault, url, timeout
        self.http = AsyncHTTPClient()

    async def body_for(self, entry: dict) -> dict:
        g = await self.db.fetchone(
            "SELECT g.id_cipher, g.name, g.student_number, g.exam_number, g.cohort, s.code AS school_code"
            " FROM graduates g JOIN schools s ON s.id=g.school_id WHERE g.id=%s", (entry["graduate_id"],))
        p = entry["payload"]
        return {"idempotency_key": entry["idempotency_key"], "sequence": entry["id"],
                "school_code": g["school_code"], "cohort": g["cohort"], "exam_number": g["exam_number"],
                "student_number": g["student_number"], "name": g["name"],
                "id_number": self.vault.decrypt(g["id_cipher"]), "record_id": p["record_id"], "kind": p["kind"],
                "status": p["status"], "destination": p["destination"]}

    async def run_once(self, batch: int = 50) -> int:
        pushed = 0
        for entry in await claim_due(self.db, "ems_sync", batch):
            try:
                body = await self.body_for(entry)
                resp = await self.http.fetch(HTTPRequest(
                    self.url, method="POST", body=json.dumps(body, ensure_ascii=False),
                    headers={"Content-Type": "application/json", "Idempotency-Key": entry["idempotency_key"]},
                    connect_timeout=3, request_timeout=self.timeout))
                answer = json.loads(resp.body or b"{}")
                if not answer.get("ok"):
                    raise ValueError(f"EMS refused: {answer}")
            except (HTTPClientError, OSError, ValueError, TimeoutError) as exc:
                log.warning("EMS push %s failed (attempt %s): %s", entry["id"], entry["attempts"] + 1, exc)
                await mark_retry(self.db, entry, f"{type(exc).__name__}: {exc}")
                continue
            await mark_done(self.db, entry["id"])
            pushed += 1
        return pushed
