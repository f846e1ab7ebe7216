"""Demo and test mode only: a page showing what each demo graduate's emulated phone and WeChat received, so
the flows can be tried without either. The app adds these routes only outside production."""
from __future__ import annotations

import json
from datetime import datetime

from tornado.httpclient import AsyncHTTPClient

from demo.data import SCHOOL as DEMO_SCHOOL
from emulators.wechat_state import DEMO_TEMPLATES
from handlers.base import BaseHandler
from signing import clock
from wechat.client import api_base


async def _emulator_messages(url: str) -> list[dict] | None:
    try:
        resp = await AsyncHTTPClient().fetch(url, request_timeout=3)
        return json.loads(resp.body)["messages"]
    except Exception:  # the emulator is not running: the page says so
        return None


class DemoPhonesPage(BaseHandler):
    """Demo and test only: each demo graduate's emulated phone and WeChat, so the flow can be tried without
    either. ?school=CODE picks another school (default: the demo school)."""

    async def get(self):
        school = self.get_query_argument("school", DEMO_SCHOOL[0])[:10]
        rows = await self.db.fetchall(
            "SELECT u.username, g.name, g.department, u.phone_cipher, u.wechat_openid, u.wechat_subscribed"
            " FROM users u JOIN graduates g ON g.id=u.graduate_id JOIN schools s ON s.id=g.school_id"
            " WHERE s.code=%s ORDER BY g.id LIMIT 100", (school,))
        sms_base = "http://" + self.config.aliyun_sms_endpoint.split("://")[-1].rstrip("/")
        wx_base = api_base(self.config)
        sms_all = await _emulator_messages(sms_base + "/_control/messages")
        wx_all = await _emulator_messages(wx_base + "_control/messages")
        people = []
        for r in rows:
            phone = self.vault.decrypt(r["phone_cipher"]) if r["phone_cipher"] else None
            openid = r["wechat_openid"]
            people.append({
                "username": r["username"], "name": r["name"], "department": r["department"], "phone": phone,
                "openid": openid, "subscribed": bool(r["wechat_subscribed"]),
                "sms": [m for m in sms_all or [] if phone and m["phone"] == phone],
                "wechat": [m for m in reversed(wx_all or []) if openid and m["touser"] == openid]})
        self.render("demo/phones.html", people=people, school=school, sms_base=sms_base, wx_base=wx_base,
                    sms_down=sms_all is None, wx_down=wx_all is None, labels=DEMO_TEMPLATES,
                    when=lambda t: datetime.fromtimestamp(t, clock.BEIJING).strftime("%Y-%m-%d %H:%M:%S"))


routes = [
    (r"/demo/phones", DemoPhonesPage),
]
