"""档案 / 户口信息登记: the graduate's registrations and their review by schools and departments."""
from __future__ import annotations

import json
from typing import Literal

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Body, Query
from signing import policy, registrations
from signing.errors import DomainError

Module = Literal["archive", "hukou"]


class SaveBody(Body):
    action: Literal["save", "submit"]
    data: dict


class ReviewBody(Body):
    decision: Literal["approve", "return"]
    reason: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=0)


class RegistrationListQuery(Query):
    module: Module
    status: Literal["draft", "submitted", "approved", "returned"] | None = None
    page: int = Field(default=1, ge=1, le=100000)


class MyRegistrationsHandler(BaseHandler):
    @authorize("graduate.self")
    @api("My archive and hukou registrations, with the choices the forms offer", tag="registrations")
    async def get(self):
        rows = await self.db.fetchall("SELECT id FROM registrations WHERE graduate_id=%s",
                                      (self.current_user.graduate_id,))
        mine = {r["module"]: r for r in [await registrations.get(self.db, row["id"]) for row in rows]}
        self.write_json({"archive": mine.get("archive"), "hukou": mine.get("hukou"),
                         "archive_receivers": registrations.ARCHIVE_RECEIVERS,
                         "hukou_moves": registrations.HUKOU_MOVES})


class MyRegistrationHandler(BaseHandler):
    @authorize("graduate.self")
    @api("Save (draft) or submit my archive or hukou registration (editable while draft or returned)",
         body=SaveBody, tag="registrations", responses={"403": "module not switched on by the province"})
    async def put(self, module):
        body = self.json_body(SaveBody)
        row = await registrations.save(self.db, self.current_user, module, body.data, body.action == "submit")
        self.write_json({"registration": row})


class SchoolRegistrationsHandler(BaseHandler):
    @authorize("registrations.read")
    @api("Registrations of one module in my scope (needs read permission on that module)",
         query=RegistrationListQuery, tag="registrations")
    async def get(self):
        q = self.query_args(RegistrationListQuery)
        actor = self.current_user
        if actor.role in ("school", "department") and actor.permission(q.module) == "none":
            raise DomainError("module_disabled", "您没有该模块的权限")
        cond, args = policy.registration_scope(actor, "r")
        cond += " AND r.module=%s"
        args.append(q.module)
        if q.status:
            cond += " AND r.status=%s"
            args.append(q.status)
        rows = await self.db.fetchall(
            "SELECT r.id, r.module, r.status, r.data, r.reason, r.version, r.updated_at, g.name, g.id_masked,"
            " g.department, g.major, g.level, g.origin FROM registrations r JOIN graduates g ON g.id=r.graduate_id"
            f" WHERE {cond} ORDER BY r.id DESC LIMIT 50 OFFSET %s", [*args, (q.page - 1) * 50])
        for r in rows:
            r["data"] = json.loads(r["data"])
        self.write_json({"items": rows})


class ReviewHandler(BaseHandler):
    @authorize("registrations.review")
    @api("Approve or return (with a reason) a submitted registration (read-write on its module)", body=ReviewBody,
         tag="registrations", responses={"409": "not submitted, stale version"})
    async def post(self, reg_id):
        body = self.json_body(ReviewBody)
        row = await registrations.review(self.db, self.current_user, int(reg_id), body.decision, body.reason,
                                         body.version)
        self.write_json({"registration": row})


routes = [
    (r"/api/graduate/registrations", MyRegistrationsHandler),
    (r"/api/graduate/registrations/(archive|hukou)", MyRegistrationHandler),
    (r"/api/school/registrations", SchoolRegistrationsHandler),
    (r"/api/school/registrations/(\d+)/review", ReviewHandler),
]
