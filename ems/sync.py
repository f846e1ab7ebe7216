"""EMS sync: pushes outbox 'ems_sync' entries to EMS_SYNC_URL as JSON, in order per graduate, retried with
backoff until acknowledged. Each push carries an idempotency key EMS de-duplicates on, so a retry after a
lost acknowledgement applies nothing twice."""
from __future__ import annotations

import json
import logging

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from server.logs import request_id_var
from server.outbox import claim_due, mark_done, mark_retry

log = logging.getLogger("wangqian.ems")


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
            request_id_var.set(entry["request_id"])  # the log lines of this push carry the request that caused it
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
        request_id_var.set(None)
        return pushed
