"""An EMS (就业管理系统) emulator for tests and demo mode: accepts destination pushes, de-duplicates them
by idempotency key, keeps each graduate's current destination, and can be told to fail."""
from __future__ import annotations

import asyncio
import json

import tornado.web


class EmsState:
    def __init__(self):
        self.applied: list[dict] = []          # every push applied, in arrival order
        self.keys: set[str] = set()
        self.current: dict[str, dict] = {}     # id_number -> latest destination
        self.last_sequence: dict[str, int] = {}
        self.out_of_order: list[dict] = []
        self.duplicates = 0
        self.fail_mode: str | None = None       # http500 | timeout | down | ack_lost
        self.fail_times = 0


class _Base(tornado.web.RequestHandler):
    def check_xsrf_cookie(self):
        pass

    @property
    def state(self) -> EmsState:
        return self.application.state


class SyncHandler(_Base):
    async def post(self):
        s = self.state
        if s.fail_mode and s.fail_mode != "ack_lost" and (s.fail_mode == "down" or s.fail_times > 0):
            s.fail_times -= 1
            if s.fail_mode == "timeout":
                await asyncio.sleep(8)
            self.set_status(503 if s.fail_mode == "down" else 500)
            return self.finish({"ok": False, "error": "unavailable"})
        try:
            body = json.loads(self.request.body)
            key, id_number, sequence = body["idempotency_key"], body["id_number"], int(body["sequence"])
            status = body["status"]
        except (ValueError, KeyError, TypeError):
            self.set_status(400)
            return self.finish({"ok": False, "error": "bad request"})
        if key in s.keys:
            s.duplicates += 1
            return self.finish({"ok": True, "duplicate": True})
        if sequence <= s.last_sequence.get(id_number, 0):
            s.out_of_order.append(body)
        s.last_sequence[id_number] = sequence
        s.keys.add(key)
        s.applied.append(body)
        s.current[id_number] = {"status": status, "destination": body["destination"]}
        if s.fail_mode == "ack_lost" and s.fail_times > 0:
            s.fail_times -= 1  # applied, but the answer never reaches the caller
            self.set_status(502)
            return self.finish({"ok": False, "error": "gateway"})
        self.finish({"ok": True, "duplicate": False})


class ControlHandler(_Base):
    def post(self, what):
        s = self.state
        if what == "fail":
            body = json.loads(self.request.body or b"{}")
            s.fail_mode, s.fail_times = body.get("mode", "http500"), int(body.get("times", 1))
        elif what == "reset":
            s.fail_mode, s.fail_times = None, 0
        self.finish({"ok": True})

    def get(self, what):
        s = self.state
        self.finish({"applied": len(s.applied), "duplicates": s.duplicates, "out_of_order": len(s.out_of_order),
                     "current": s.current})


def make_emulator_app() -> tornado.web.Application:
    app = tornado.web.Application([(r"/api/sync", SyncHandler), (r"/_control/(\w+)", ControlHandler)])
    app.state = EmsState()
    return app
