"""The delivery log: a graduate's own messages; a school's view of its graduates' deliveries."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

import notify.errors  # noqa: F401  (registers the error codes)
from handlers.base import BaseHandler, api, authorize, validate
from handlers.models import Answer, Query
from notify.templates import NOTIFICATIONS
from signing.policy import graduate_scope

PAGE_SIZE = 50
CHANNEL_TEXT = {"wechat": "微信模板消息", "sms": "短信"}
STATUS_TEXT = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "skipped": "未发送（已改发短信）"}


class MessagesQuery(Query):
    page: int = Field(default=1, ge=1, le=100000)


class DeliveriesQuery(Query):
    status: Literal["pending", "sent", "failed", "skipped"] | None = None
    channel: Literal["wechat", "sms"] | None = None
    page: int = Field(default=1, ge=1, le=100000)


Channel = Literal["wechat", "sms"]
Status = Literal["pending", "sent", "failed", "skipped"]
Time = str | None  # "YYYY-MM-DD HH:MM:SS"


class Message(Answer):
    id: int
    record_id: int | None
    channel: Channel
    channel_text: str
    template: str
    template_text: str
    content: str
    status: Status
    status_text: str
    created_at: str
    sent_at: Time


class Delivery(Message):
    graduate_id: int
    graduate_name: str
    department: str
    attempts: int
    recipient_masked: str | None = Field(description="139****1234, oAbc****wxyz")
    last_error: str | None


class MessagesPage(Answer):
    total: int
    page: int
    page_size: int
    items: list[Message]


class DeliveriesPage(MessagesPage):
    items: list[Delivery]


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
         tag="notify", response=MessagesPage)
    async def get(self):
        q = self.query(MessagesQuery)
        self.write_json(await my_messages(self.db, self.current_user.graduate_id, q.page))


class SchoolDeliveriesHandler(LogHandler):
    @authorize("notify.deliveries.read")
    @api("Delivery log of my graduates' notifications (department: its own; province: its schools): what was "
         "sent to whom (masked), when, with what result", query=DeliveriesQuery, tag="notify",
         response=DeliveriesPage)
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


routes = [
    (r"/api/graduate/messages", MyMessagesHandler),
    (r"/api/school/deliveries", SchoolDeliveriesHandler),
]
