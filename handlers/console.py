"""Staff console pages beyond the records and audit (handlers/admin.py): 预警单位, 操作日志, 通知发送记录. Each page asks
signing/policy.py who may see it and reuses the services of the JSON API."""
from __future__ import annotations

from urllib.parse import urlencode

from handlers.admin import AdminPage, platform_admin_page, staff_page
from handlers.base import validate
from handlers.deliveries import CHANNEL_TEXT, STATUS_TEXT, delivery_page
from handlers.employers import (
    CERTIFICATION_METHOD_TEXT,
    CERTIFICATION_TEXT,
    decide_certification,
    employers_by_certification,
)
from handlers.errors import status_and_message
from handlers.roster import GraduateListQuery, list_graduates
from signing import policy, settings_service, warnings
from signing.actors import ROLE_NAMES
from signing.eligibility import TRAINING_MODES
from signing.errors import DomainError

OPLOG_PAGE_SIZE = 50


class WarningsPage(AdminPage):
    """预警单位: the school's own marks (mark, unmark) and the units marked nationwide."""

    async def show(self, notice: str | None = None, error: str | None = None, form: dict | None = None):
        policy.require(self.current_user, "warnings.read")
        actor = self.current_user
        own = await warnings.school_warnings(self.db, actor.school_id) if actor.school_id else []
        self.render("admin/warnings.html", own=own, nationwide=await warnings.nationwide_warnings(self.db),
                    categories=warnings.CATEGORIES, threshold=warnings.NATIONWIDE_SCHOOLS, notice=notice,
                    error=error, form=form or {}, writable=policy.allowed(actor, "warnings.write"), actor=actor)

    @staff_page
    async def get(self):
        notice = {"marked": "已标记为预警单位", "removed": "已取消预警"}.get(self.get_query_argument("done", ""))
        await self.show(notice=notice)

    @staff_page
    async def post(self):
        policy.require(self.current_user, "warnings.write")
        arg = self.get_body_argument
        if arg("form", "") == "remove":
            warning_id = arg("id", "")
            if not warning_id.isdigit():
                raise DomainError("not_found")
            await warnings.remove(self.db, self.current_user, int(warning_id))
            self.redirect("/admin/warnings?done=removed")
            return
        form = {k: arg(k, "").strip() for k in ("credit_code", "unit_name", "category", "note")}
        try:
            await warnings.mark(self.db, self.current_user, form["credit_code"], form["unit_name"], form["category"],
                                form["note"] or None)
        except DomainError as exc:  # the form comes back with the values kept and the reason beside it
            self.set_status(status_and_message(exc.code)[0])
            await self.show(error=status_and_message(exc.code, exc.message)[1], form=form)
            return
        self.redirect("/admin/warnings?done=marked")


class OperationLogPage(AdminPage):
    """操作日志 within the caller's scope (policy.oplog_scope), newest first, paged."""

    @staff_page
    async def get(self):
        policy.require(self.current_user, "oplog.read")
        raw = self.get_query_argument("page", "1")
        page = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100000 else 1
        cond, args = policy.oplog_scope(self.current_user)
        rows = await self.db.fetchall(
            "SELECT id, role, actor_name, summary, ip, created_at FROM operation_log"
            f" WHERE {cond} ORDER BY id DESC LIMIT %s OFFSET %s",
            [*args, OPLOG_PAGE_SIZE + 1, (page - 1) * OPLOG_PAGE_SIZE])
        self.render("admin/operations.html", rows=rows[:OPLOG_PAGE_SIZE], more=len(rows) > OPLOG_PAGE_SIZE,
                    page=page, role_names=ROLE_NAMES, actor=self.current_user)


class DeliveriesPage(AdminPage):
    """通知发送记录: each WeChat message and SMS to the graduates in scope, with its result; failures first to find."""

    @staff_page
    async def get(self):
        policy.require(self.current_user, "notify.deliveries.read")
        status, channel = self.get_query_argument("status", ""), self.get_query_argument("channel", "")
        raw = self.get_query_argument("page", "1")
        page = int(raw) if raw.isdigit() and 1 <= int(raw) <= 100000 else 1
        where, args = policy.graduate_scope(self.current_user, "g")
        if status in STATUS_TEXT:
            where += " AND d.status=%s"
            args.append(status)
        if channel in CHANNEL_TEXT:
            where += " AND d.channel=%s"
            args.append(channel)
        result = await delivery_page(
            self.db, where, args, page,
            "d.id, g.name AS graduate_name, g.department, d.record_id, d.channel, d.template, d.status, d.attempts,"
            " d.recipient_masked, d.last_error, d.created_at, d.sent_at")
        self.render("admin/deliveries.html", result=result, status=status, channel=channel,
                    statuses=STATUS_TEXT, channels=CHANNEL_TEXT, actor=self.current_user)


class GraduatesPage(AdminPage):
    """学生名单: the roster in the account's scope, filtered and paged, ID numbers and phones masked."""
    filters = ("cohort", "status", "department", "major", "level", "name", "id_number")

    @staff_page
    async def get(self):
        policy.require(self.current_user, "roster.read")
        args = {k: v for k in (*self.filters, "page") if (v := self.get_query_argument(k, "").strip())}
        q = validate(GraduateListQuery, {**args, "page_size": 50})
        result = await list_graduates(self.db, self.vault, self.current_user, q)
        query = urlencode({k: v for k, v in args.items() if k not in ("page", "id_number")})  # the ID number stays out of links
        self.render("admin/graduates.html", result=result, args=args, page=q.page, page_size=q.page_size,
                    query=query, training_modes=TRAINING_MODES, actor=self.current_user)


class CertificationPage(AdminPage):
    """单位认证 (platform administrator): the queue by state, the documents, approve or refuse with a reason."""

    async def show(self, error: dict | None = None):
        policy.require(self.current_user, "admin.employers")
        state = self.get_query_argument("state", "pending")
        rows = await employers_by_certification(self.db, state if state in CERTIFICATION_TEXT else None)
        done = self.get_query_argument("done", "")
        self.render("admin/employers.html", rows=rows, state=state, states=CERTIFICATION_TEXT,
                    methods=CERTIFICATION_METHOD_TEXT, error=error or {}, actor=self.current_user,
                    notice=None if error else {"certified": "已通过认证", "refused": "已拒绝认证"}.get(done))

    @platform_admin_page
    async def get(self):
        await self.show()

    @platform_admin_page
    async def post(self):
        policy.require(self.current_user, "admin.employers")
        employer_id, decision = self.get_body_argument("id", ""), self.get_body_argument("decision", "")
        note = self.get_body_argument("note", "").strip() or None
        if not employer_id.isdigit():
            raise DomainError("not_found")
        try:
            await decide_certification(self.db, self.current_user, int(employer_id), decision, note)
        except DomainError as exc:
            status, message = status_and_message(exc.code, exc.message)
            if status == 404:
                raise
            self.set_status(status)  # the refusal comes back beside that employer's form
            await self.show({"id": int(employer_id), "message": message, "note": note or ""})
            return
        self.redirect(f"/admin/employers?done={decision}")


class ProvincePage(AdminPage):
    """省级功能设置: the province sets its agreement type and switches modules on; the ministry reads every
    province's settings. The schools' progress is the dashboard's statistics (per school for these roles)."""

    async def show(self, notice: str | None = None, error: str | None = None):
        policy.require(self.current_user, "province.settings.read")
        actor = self.current_user
        if actor.role == "province":
            where, args = "code=%s", [actor.province_code]
        else:
            where, args = "1=1", []
        provinces = await self.db.fetchall(f"SELECT * FROM provinces WHERE {where} ORDER BY code", args)
        self.render("admin/province.html", provinces=provinces, notice=notice, error=error, actor=actor,
                    writable=policy.allowed(actor, "province.settings.write"),
                    agreement_types=settings_service.AGREEMENT_TYPES, modules=settings_service.MODULE_TEXT)

    @staff_page
    async def get(self):
        await self.show("已保存" if self.get_query_argument("done", "") == "saved" else None)

    @staff_page
    async def post(self):
        policy.require(self.current_user, "province.settings.write")
        arg = self.get_body_argument
        changes = {m: True for m in settings_service.MODULE_TEXT if arg(m, "") == "1"}
        if arg("agreement_type", ""):
            changes["agreement_type"] = arg("agreement_type")
        if changes.get("agreement_type", "two_party") not in settings_service.AGREEMENT_TYPES:
            raise DomainError("invalid_input", "请选择协议类型")
        try:
            await settings_service.update_province(self.db, self.current_user, self.current_user.province_code,
                                                   changes)
        except DomainError as exc:
            self.set_status(status_and_message(exc.code)[0])
            await self.show(error=status_and_message(exc.code, exc.message)[1])
            return
        self.redirect("/admin/province?done=saved")


routes = [
    (r"/admin/warnings", WarningsPage),
    (r"/admin/operations", OperationLogPage),
    (r"/admin/deliveries", DeliveriesPage),
    (r"/admin/graduates", GraduatesPage),
    (r"/admin/employers", CertificationPage),
    (r"/admin/province", ProvincePage),
]
