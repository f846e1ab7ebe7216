"""An emulator of the enterprise credit service for tests and demo mode: every valid code is 存续 unless told
otherwise; it can be told to fail or hang."""
from __future__ import annotations

import asyncio
import json

import tornado.web

from signing.personal import credit_code_problem


class _Base(tornado.web.RequestHandler):
    def check_xsrf_cookie(self):
        pass


class EnterpriseHandler(_Base):
    async def get(self, code):
        state = self.application.state
        if state["fail"] == "http500":
            self.set_status(500)
            return self.finish({"error": "internal"})
        if state["fail"] == "timeout":
            await asyncio.sleep(5)
        if credit_code_problem(code) or code in state["unknown"]:
            self.set_status(404)
            return self.finish({"error": "not found"})
        self.finish({"credit_code": code, "status": state["statuses"].get(code, "存续")})


class ControlHandler(_Base):
    def post(self):
        body = json.loads(self.request.body or b"{}")
        state = self.application.state
        state["fail"] = body.get("fail")
        state["statuses"].update(body.get("statuses", {}))
        state["unknown"].update(body.get("unknown", []))
        self.finish({"ok": True})


def make_emulator_app() -> tornado.web.Application:
    app = tornado.web.Application([(r"/api/enterprises/([0-9A-Z]+)", EnterpriseHandler),
                                   (r"/_control", ControlHandler)])
    app.state = {"fail": None, "statuses": {}, "unknown": set()}
    return app
