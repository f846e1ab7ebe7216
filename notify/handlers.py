"""The delivery log (a graduate's own messages; a school's view of its graduates' deliveries) and, in demo
and test mode only, a page showing what each demo graduate's emulated phone and WeChat received."""
from __future__ import annotations

import json
import time
from typing import Literal

from pydantic import Field
from tornado.httpclient import AsyncHTTPClient

import notify.errors  # noqa: F401  (registers the error codes)
from handlers.base import BaseHandler, api, authorize, validate
from handlers.models import Query
from notify.templates import NOTIFICATIONS
from server.demo import SCHOOL as DEMO_SCHOOL
from server.policy import graduate_scope
from signing.errors import DomainError
from wechat.client import api_base
from wechat.emulator_state import DEMO_TEMPLATES

PAGE_SIZE = 50
CHANNEL_TEXT = {"wechat": "微信模板消息", "sms": "短信"}
STATUS_TEXT = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "skipped": "未发送（已改发短信）"}


class MessagesQuery(Query):
    page: int = Field(default=1, ge=1, le=100000)


class DeliveriesQuery(Query):
    status: Literal["pending", "sent", "failed", "skipped"] | None = None
    channel: Literal["wechat", "sms"] | None = None
    page: int = Field(default=1, ge=1, le=100000)


def described(row: dict) -> dict:
    row["channel_text"] = CHANNEL_TEXT[row["channel"]]
    row["status_text"] = STATUS_TEXT[row["status"]]
    row["template_text"] = NOTIFICATIONS[row["template"]].title if row["template"] in NOTIFICATIONS else row["template"]
    return row


GRADUATE_COLUMNS = "d.id, d.record_id, d.channel, d.template, d.content, d.status, d.created_at, d.sent_at"


async def delivery_page(db, where: str, args: list, page: int, columns: str) -> dict:
    total = await db.fetchone(
        f"SELECT COUNT(*) AS n FROM deliveries d JOIN graduates g ON g.id=d.graduate_id WHERE {where}", args)
    rows = await db.fetchall(
        f"SELECT {columns} FROM deliveries d JOIN graduates g ON g.id=d.graduate_id WHERE {where}"
        " ORDER BY d.id DESC LIMIT %s OFFSET %s", [*args, PAGE_SIZE, (page - 1) * PAGE_SIZE])
    return {"total": total["n"], "page": page, "page_size": PAGE_SIZE, "items": [described(r) for r in rows]}


async def my_messages(db, graduate_id: int, page: int = 1) -> dict:
    """A graduate's own messages; the SMS sent to a unit on their behalf (agreement links) are not theirs."""
    return await delivery_page(db, "d.graduate_id=%s AND d.template<>'employer_link'", [graduate_id], page,
                               GRADUATE_COLUMNS)


class LogHandler(BaseHandler):
    def query(self, model):
        """?status=&channel= : an empty parameter means no filter."""
        return validate(model, {k: self.get_query_argument(k) for k in self.request.query_arguments
                                if self.get_query_argument(k) != ""})

    async def page_of(self, where: str, args: list, page: int, columns: str) -> dict:
        return await delivery_page(self.db, where, args, page, columns)


class MyMessagesHandler(LogHandler):
    @authorize("graduate.self")
    @api("My messages: every WeChat message and SMS sent (or being sent) to me, newest first", query=MessagesQuery,
         tag="notify")
    async def get(self):
        q = self.query(MessagesQuery)
        self.write_json(await my_messages(self.db, self.current_user.graduate_id, q.page))


class SchoolDeliveriesHandler(LogHandler):
    @authorize("notify.deliveries.read")
    @api("Delivery log of my graduates' notifications (department: its own; province: its schools): what was "
         "sent to whom (masked), when, with what result", query=DeliveriesQuery, tag="notify")
    async def get(self):
        q = self.query(DeliveriesQuery)
        where, args = graduate_scope(self.current_user, "g")
        for column in ("status", "channel"):
            if getattr(q, column):
                where += f" AND d.{column}=%s"
                args.append(getattr(q, column))
        self.write_json(await self.page_of(
            where, args, q.page,
            "d.id, d.graduate_id, g.name AS graduate_name, g.department, d.record_id, d.channel, d.template,"
            " d.status, d.attempts, d.recipient_masked, d.last_error, d.content, d.created_at, d.sent_at"))


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
        if self.config.app_env not in ("demo", "test"):
            raise DomainError("not_found")
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
        self.render("notify/demo_phones.html", people=people, school=school, sms_base=sms_base, wx_base=wx_base,
                    sms_down=sms_all is None, wx_down=wx_all is None, labels=DEMO_TEMPLATES,
                    when=lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)))


routes = [
    (r"/api/graduate/messages", MyMessagesHandler),
    (r"/api/school/deliveries", SchoolDeliveriesHandler),
    (r"/demo/phones", DemoPhonesPage),
]
