"""预警单位管理: schools mark employers; their graduates and auditors see the warning."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Body, Query
from signing import warnings

Category = Literal["violation", "fake", "discrimination", "false_advertising"]


class WarningBody(Body):
    credit_code: str = Field(min_length=18, max_length=18)
    unit_name: str = Field(min_length=1, max_length=200)
    category: Category
    note: str | None = Field(default=None, max_length=500)


class WarningChangeBody(Body):
    category: Category | None = None
    note: str | None = Field(default=None, max_length=500)


class WarningListQuery(Query):
    page: int = Field(default=1, ge=1, le=100000)


class WarningsHandler(BaseHandler):
    @authorize("warnings.read")
    @api("My school's warning employers (预警单位), with how many schools marked each unit", query=WarningListQuery,
         tag="warnings")
    async def get(self):
        q = self.query_args(WarningListQuery)
        self.write_json({"items": await warnings.school_warnings(self.db, self.current_user.school_id, q.page)})

    @authorize("warnings.write")
    @api("Mark an employer as a warning employer (schools only, not departments)", body=WarningBody, tag="warnings",
         responses={"409": "already marked by my school"})
    async def post(self):
        body = self.json_body(WarningBody)
        warning_id = await warnings.mark(self.db, self.current_user, body.credit_code, body.unit_name, body.category,
                                         body.note)
        self.write_json({"warning": {"id": warning_id}}, status=201)


class WarningHandler(BaseHandler):
    @authorize("warnings.write")
    @api("Change the category or note of my school's warning", body=WarningChangeBody, tag="warnings")
    async def patch(self, warning_id):
        body = self.json_body(WarningChangeBody)
        await warnings.change(self.db, self.current_user, int(warning_id), body.category, body.note)
        self.write_json({"ok": True})

    @authorize("warnings.write")
    @api("Remove my school's warning", tag="warnings")
    async def delete(self, warning_id):
        await warnings.remove(self.db, self.current_user, int(warning_id))
        self.write_json({"ok": True})


routes = [
    (r"/api/school/warnings", WarningsHandler),
    (r"/api/school/warnings/(\d+)", WarningHandler),
]
