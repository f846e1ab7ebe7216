"""Province and school settings (功能设置, 签约设置) and the operation log."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Body, Query
from signing import clock, policy, settings_service
from signing.eligibility import current_cohort
from signing.errors import DomainError


class ProvinceSettingsBody(Body):
    agreement_type: Literal["two_party", "three_party"] | None = None
    module_employment: bool | None = None
    module_archive: bool | None = None
    module_hukou: bool | None = None


class ProvinceSettingsHandler(BaseHandler):
    def _check_province(self, code: str) -> None:
        if self.current_user.role == "province" and self.current_user.province_code != code:
            raise DomainError("not_found")

    @authorize("province.settings.read")
    @api("A province's agreement type and module switches", tag="settings")
    async def get(self, code):
        self._check_province(code)
        async with self.db.cursor() as cur:
            self.write_json({"province": await settings_service.get_province(cur, code)})

    @authorize("province.settings.write")
    @api("Set the agreement type and switch modules on (a module once on stays on)",
         body=ProvinceSettingsBody, tag="settings", responses={"409": "irreversible change refused"})
    async def patch(self, code):
        self._check_province(code)
        body = self.json_body(ProvinceSettingsBody)
        changes = body.model_dump(exclude_none=True)
        province = await settings_service.update_province(self.db, self.current_user, code, changes)
        self.write_json({"province": province})


class CohortQuery(Query):
    cohort: int = Field(default_factory=lambda: current_cohort(clock.today()), ge=2000, le=2100)


class SchoolSettingsBody(Body):
    online_signing: bool | None = None
    audit_mode: Literal["school", "department_then_school"] | None = None
    max_cancellations: int | None = Field(default=None, description="0-99")


class HandlerInfo(Body):
    name: str = Field(max_length=50)
    phone: str = Field(max_length=20)
    address: str = Field(max_length=200)
    postcode: str = Field(max_length=6)


class AgreementHandlersBody(Body):
    mode: Literal["unified", "per_level"]
    all: HandlerInfo | None = None
    undergraduate: HandlerInfo | None = None
    postgraduate: HandlerInfo | None = None


class SchoolSettingsHandler(BaseHandler):
    @authorize("school.settings.read")
    @api("My school's signing settings for a cohort (签约设置)", query=CohortQuery, tag="settings")
    async def get(self):
        q = self.query_args(CohortQuery)
        async with self.db.cursor() as cur:
            settings = await settings_service.get_school_settings(cur, self.current_user.school_id, q.cohort)
        self.write_json({"settings": settings})

    @authorize("school.settings.write")
    @api("Change online signing, audit mode or the cancellation maximum", query=CohortQuery,
         body=SchoolSettingsBody, tag="settings", responses={"409": "constraint of SPEC section 3 broken"})
    async def patch(self):
        q = self.query_args(CohortQuery)
        body = self.json_body(SchoolSettingsBody)
        settings = await settings_service.update_school_settings(
            self.db, self.current_user, self.current_user.school_id, q.cohort, body.model_dump(exclude_none=True))
        self.write_json({"settings": settings})


class AgreementHandlersHandler(BaseHandler):
    @authorize("school.settings.write")
    @api("Submit the agreement handler (协议经办人), unified or per level; immutable once submitted",
         query=CohortQuery, body=AgreementHandlersBody, tag="settings")
    async def post(self):
        q = self.query_args(CohortQuery)
        body = self.json_body(AgreementHandlersBody)
        handlers = {k: v.model_dump() for k in ("all", "undergraduate", "postgraduate")
                    if (v := getattr(body, k)) is not None}
        settings = await settings_service.add_agreement_handlers(
            self.db, self.current_user, self.current_user.school_id, q.cohort, body.mode, handlers)
        self.write_json({"settings": settings})


class OplogQuery(Query):
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=50, ge=1, le=200)


class OperationLogHandler(BaseHandler):
    @authorize("oplog.read")
    @api("Operation log (操作日志) within my scope: who, role, what, when, on which record",
         query=OplogQuery, tag="operations")
    async def get(self):
        q = self.query_args(OplogQuery)
        cond, args = policy.oplog_scope(self.current_user)
        for column in ("target_type", "target_id"):
            if getattr(q, column):
                cond += f" AND {column}=%s"
                args.append(getattr(q, column))
        rows = await self.db.fetchall(
            "SELECT id, user_id, role, actor_name, action, target_type, target_id, school_id, summary, ip,"
            f" created_at FROM operation_log WHERE {cond} ORDER BY id DESC LIMIT %s OFFSET %s",
            [*args, q.page_size, (q.page - 1) * q.page_size])
        self.write_json({"page": q.page, "items": rows})


routes = [
    (r"/api/provinces/(\d{2})/settings", ProvinceSettingsHandler),
    (r"/api/school/settings", SchoolSettingsHandler),
    (r"/api/school/settings/agreement-handlers", AgreementHandlersHandler),
    (r"/api/operations", OperationLogHandler),
]
