"""Admin pages for staff (school, department, province, ministry) on a PC browser: login, the records list
with its filters and exports, the audit page with the actions the table allows, and statistics. Every page
goes through the same services and policy as the JSON API."""
from __future__ import annotations

import functools
import json
from urllib.parse import urlencode

import tornado.web

from credit.registration import registration_status
from documents import recognition
from documents.uploads import run_blocking
from handlers.base import PageHandler, validate
from handlers.errors import status_and_message
from handlers.records import RecordListQuery, list_page
from handlers.reports import StatisticsQuery, school_statistics
from handlers.roster import MAX_ROSTER_BYTES
from handlers.uploads import StreamedUpload
from signing import accounts, clock, policy, registrations, settings_service
from signing import transitions as tt
from signing.codes import AUDIT_REASONS, CANCEL_REASONS, JOB_CATEGORIES, UNIT_INDUSTRIES, UNIT_NATURES
from signing.eligibility import TRAINING_MODES, current_cohort
from signing.errors import DomainError
from signing.records_query import record_detail, status_choices
from signing.records_service import perform
from signing.roster_service import import_roster
from signing.statistics import GROUPS, allowed_groups
from wechat.pages import safe_next

STAFF = ("school", "department", "province", "ministry")
CODE_LISTS = {"unit_nature": UNIT_NATURES, "unit_industry": UNIT_INDUSTRIES, "job_category": JOB_CATEGORIES}
FIELD_LABELS = {"unit_name": "单位名称", "credit_code": "统一社会信用代码", "unit_nature": "单位性质",
                "unit_industry": "单位行业", "unit_location": "单位所在地", "unit_address": "通讯地址",
                "job_category": "职位类别", "position_title": "职位名称", "work_location": "工作地点",
                "contact_name": "单位联系人", "contact_phone": "联系人电话", "contact_mobile": "联系人手机",
                "contact_email": "联系人邮箱", "takes_hukou_archive": "单位是否解决户档",
                "supplementary_terms": "协议补充内容", "type_code": "去向类型", "fields": "去向信息"}
ROSTER_LABELS = {"name": "姓名", "gender": "性别", "ethnicity": "民族", "political_status": "政治面貌",
                 "department": "院系", "major": "专业", "level": "学历层次", "study_length": "学制",
                 "student_number": "学号", "graduation_month": "毕业时间", "training_mode": "培养方式", "origin": "生源地"}


class AdminPage(PageHandler):
    message_template = "admin/message.html"
    confirm_template = "admin/confirm.html"
    error_title = "无法完成操作"

    def chosen_cohort(self) -> int:
        """The cohort asked for (?cohort=), else the one that is signing now."""
        raw = self.get_argument("cohort", "")
        return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else current_cohort(clock.today())

    async def cohort_choices(self, chosen: int) -> list[int]:
        """The cohorts the switcher offers: those with graduates the caller may see, the current one, the chosen."""
        where, args = policy.graduate_scope(self.current_user, "g")
        rows = await self.db.fetchall(f"SELECT DISTINCT g.cohort FROM graduates g WHERE {where}", args)
        return sorted({r["cohort"] for r in rows} | {current_cohort(clock.today()), chosen}, reverse=True)


def staff_page(method, roles: tuple[str, ...] = STAFF):
    """Logged-in staff only (or the given roles); others go to the login page and come back."""
    @functools.wraps(method)
    async def wrapper(self: AdminPage, *args, **kwargs):
        if self.current_user is None or self.current_user.role not in roles:
            self.redirect("/admin/login?" + urlencode({"next": safe_next(self.request.uri, "/admin")}))
            return None
        return await method(self, *args, **kwargs)
    return wrapper


def platform_admin_page(method):
    """The platform administrator's pages (role admin)."""
    return staff_page(method, roles=("admin",))


class LoginPage(AdminPage):
    async def get(self):
        self.render("admin/login.html", error=None, next=safe_next(self.get_query_argument("next", None), "/admin"))

    async def post(self):
        next_path = safe_next(self.get_body_argument("next", None), "/admin")
        try:
            user = await accounts.authenticate(self.db, self.redis, self.vault, self.get_body_argument("username", ""),
                                               self.get_body_argument("password", ""), self.request.remote_ip)
        except DomainError as exc:
            self.set_status(status_and_message(exc.code)[0])
            self.render("admin/login.html", error=status_and_message(exc.code, exc.message)[1], next=next_path)
            return
        if user["role"] not in (*STAFF, "admin"):
            self.set_status(403)
            self.render("admin/login.html", error="此入口供学校、院系、省级、部级用户和平台管理员使用", next=next_path)
            return
        await self.start_session(user)
        # the platform administrator's console is the employer certification queue
        self.redirect("/admin/employers" if user["role"] == "admin" and next_path == "/admin" else next_path)


class LogoutPage(AdminPage):
    async def post(self):
        await self.end_session()
        self.redirect("/admin/login")


class DashboardPage(AdminPage):
    @staff_page
    async def get(self):
        cohort = self.chosen_cohort()
        # ?group= and ?province= are checked as the API checks them: a malformed one is a 400, not ignored
        query = validate(StatisticsQuery, {k: v for k in ("group", "province") if (v := self.get_argument(k, ""))})
        stats = await school_statistics(self.db, self.current_user, cohort, query.group, query.province)
        self.render("admin/dashboard.html", stats=stats, cohort=cohort, cohorts=await self.cohort_choices(cohort),
                    groups=[(g, GROUPS[g][2]) for g in allowed_groups(self.current_user.role, stats.get("province"))],
                    actor=self.current_user)


class RecordsPage(AdminPage):
    """毕业去向与网签信息: one cohort's records with the SPEC §7 filters as selects (院系 and 专业 from the
    caller's scope; a department account's 院系 is fixed), sorts, page count, first/previous/next/last pages
    (keyset cursors) and a jump to any page (signing/lists.py), and the CSV and Excel exports of the list."""

    @staff_page
    async def get(self):
        actor = self.current_user
        args = {k: v for k in self.request.query_arguments if (v := self.get_query_argument(k).strip())}
        args["cohort"] = str(self.chosen_cohort())
        if actor.role == "department":
            args["department"] = actor.department
        q = validate(RecordListQuery, args)
        result = await list_page(self, q)
        kept = {k: v for k, v in args.items() if k not in ("page", "cursor")}  # the filters and the sort

        def url(path="/admin/records", **changes):
            return path + "?" + urlencode({k: v for k, v in {**kept, **changes}.items() if v is not None})

        scope, scope_args = policy.graduate_scope(actor, "g")
        in_cohort = f"{scope} AND g.cohort=%s"
        departments = await self.db.fetchall(f"SELECT DISTINCT g.department FROM graduates g WHERE {in_cohort}"
                                             " ORDER BY g.department", [*scope_args, q.cohort])
        majors = await self.db.fetchall(
            f"SELECT DISTINCT g.major FROM graduates g WHERE {in_cohort}"
            + (" AND g.department=%s" if q.department else "") + " ORDER BY g.major",
            [*scope_args, q.cohort, *([q.department] if q.department else [])])
        self.render("admin/records.html", result=result, args=args, kept=kept, url=url, actor=actor,
                    cohort=q.cohort, cohorts=await self.cohort_choices(q.cohort), kinds=tt.KINDS,
                    states=status_choices(), departments=[d["department"] for d in departments],
                    majors=[m["major"] for m in majors])


UPLOAD_KINDS = {"stamped-agreement": "盖章就业协议书", "paper-agreement": "纸质就业协议书",
                "cancellation-letter": "解约函", "destination-proof": "去向证明材料"}
# actions that cannot be taken back: the page asks for confirmation before sending them
IRREVERSIBLE = ("reject", "force_cancel", "pass_unilateral", "void")


class AuditView(AdminPage):
    async def show(self, record_id: int, error: dict | None = None):
        """The record with its actions; `error` ({action, message, form}) puts a refusal beside its form."""
        record = await record_detail(self.db, self.current_user, record_id, audit_view=True)
        await recognition.annotate_uploads(self.db, record)
        data = record["data"] or {}
        record["unit_registration"] = await registration_status(
            self.redis, self.config.credit_service_url, data.get("credit_code"))
        destination = None
        if data.get("type_code"):
            destination = await self.db.fetchone("SELECT name, fields FROM destination_types WHERE code=%s",
                                                 (data["type_code"],))
            if destination:
                destination["labels"] = {f["name"]: f["label"] for f in json.loads(destination["fields"])}
        done = self.get_query_argument("done", None)
        self.render("admin/audit.html", r=record, labels=FIELD_LABELS, roster_labels=ROSTER_LABELS, roster_codes={"training_mode": TRAINING_MODES},
                    code_lists=CODE_LISTS, audit_reasons=AUDIT_REASONS, cancel_reasons=CANCEL_REASONS,
                    destination=destination, upload_kinds=UPLOAD_KINDS, irreversible=IRREVERSIBLE, question=irreversible_question,
                    done=None if error else done, error=error or {}, action_text=tt.ACTION_TEXT,
                    actor=self.current_user)


class AuditPage(AuditView):
    @staff_page
    async def get(self, record_id):
        await self.show(int(record_id))


def irreversible_question(action: str) -> str:
    return f"确定{tt.ACTION_TEXT.get(action, action)}？此操作提交后不可撤回。"


class AuditActionPage(AuditView):
    @staff_page
    async def post(self, record_id, action):
        if action in IRREVERSIBLE and await self.asked_first_about(  # the page's dialog sends `confirmed`
                int(record_id), action, irreversible_question(action), f"/admin/records/{int(record_id)}"):
            return
        changes = {k[7:]: v.strip() for k, vs in self.request.body_arguments.items() if k.startswith("change_")
                   for v in [vs[0].decode("utf-8", "replace")] if v.strip()}
        if action == "edit_destination":  # destination fields arrive one input each
            changes = {"fields": {k[6:]: v for k, v in changes.items() if k.startswith("field_")}}
        inp = self.action_input(changes=changes or None)
        try:
            await perform(self.db, self.current_user, int(record_id), action, inp)
        except DomainError as exc:
            status, message = status_and_message(exc.code, exc.message)
            if status in (401, 403, 404):  # not the caller's record: no page to re-render
                raise
            self.set_status(status)  # the refused form comes back with its values and the reason beside it
            await self.show(int(record_id), {"action": action, "message": message,
                                             "form": {"reason": inp.reason or "", "explanation": inp.explanation or ""}})
            return
        self.redirect(f"/admin/records/{int(record_id)}?done={action}")


routes = [
    (r"/admin/login", LoginPage),
    (r"/admin/logout", LogoutPage),
    (r"/admin", DashboardPage),
    (r"/admin/records", RecordsPage),
    (r"/admin/records/(\d+)", AuditPage),
    (r"/admin/records/(\d+)/act/([a-z_]+)", AuditActionPage),
]


class SettingsPage(AdminPage):
    """签约设置 of the school for a cohort: switches, audit mode, cancellation maximum, agreement handlers."""

    async def show(self, notice: str | None = None):
        policy.require(self.current_user, "school.settings.read")
        cohort = self.chosen_cohort()
        async with self.db.cursor() as cur:
            current = await settings_service.get_school_settings(cur, self.current_user.school_id, cohort)
        self.render("admin/settings.html", s=current, cohort=cohort, notice=notice, actor=self.current_user,
                    cohorts=await self.cohort_choices(cohort),
                    writable=policy.allowed(self.current_user, "school.settings.write"),
                    audit_modes=settings_service.AUDIT_MODES, level_groups=settings_service.LEVEL_GROUPS)

    @staff_page
    async def get(self):
        await self.show()

    @staff_page
    async def post(self):
        policy.require(self.current_user, "school.settings.write")
        arg = self.get_body_argument
        if arg("form", "") == "handlers":
            mode = arg("mode", "")
            levels = ("all",) if mode == "unified" else ("undergraduate", "postgraduate")
            handlers = {level: {f: arg(f"{level}_{f}", "") for f in ("name", "phone", "address", "postcode")}
                        for level in levels if arg(f"{level}_name", "").strip()}
            await settings_service.add_agreement_handlers(self.db, self.current_user, self.current_user.school_id,
                                                          self.chosen_cohort(), mode, handlers)
        else:
            maximum = arg("max_cancellations", "")
            if not maximum.isdigit():
                raise DomainError("max_cancellations_range")
            await settings_service.update_school_settings(
                self.db, self.current_user, self.current_user.school_id, self.chosen_cohort(),
                {"online_signing": arg("online_signing", "") == "1", "audit_mode": arg("audit_mode", ""),
                 "max_cancellations": int(maximum)})
        await self.show("已保存")


@tornado.web.stream_request_body
class RosterPage(StreamedUpload, AdminPage):
    """学生名单导入: the EMS roster file (CSV or XLSX); every bad line is listed and nothing is imported."""
    body_limit = MAX_ROSTER_BYTES
    xsrf_in_form = True

    def too_large(self) -> DomainError:
        return DomainError("body_too_large", "名单文件不能超过20MB")

    async def prepare(self):
        self.refuse_declared_size()
        await super().prepare()

    async def show(self, result=None, error=None, details=None):
        imports = await self.db.fetchall(
            "SELECT cohort, filename, row_count, added, updated, invalidated, restored, created_at FROM roster_imports"
            " WHERE school_id=%s ORDER BY id DESC LIMIT 20", (self.current_user.school_id,))
        self.render("admin/roster.html", imports=imports, result=result, error=error, details=details,
                    actor=self.current_user, writable=policy.allowed(self.current_user, "roster.import"))

    @staff_page
    async def get(self):
        policy.require(self.current_user, "roster.read")
        await self.show()

    @staff_page
    async def post(self):
        policy.require(self.current_user, "roster.import")
        upload = self.uploaded_part()
        try:
            result = await import_roster(self.db, self.vault, self.current_user, upload.filename,
                                         await run_blocking(upload.read))
        except DomainError as exc:
            self.set_status(status_and_message(exc.code)[0])
            await self.show(error=status_and_message(exc.code, exc.message)[1],
                            details=exc.details if isinstance(exc.details, list) else None)
            return
        await self.show(result=result.as_dict())


routes += [
    (r"/admin/settings", SettingsPage),
    (r"/admin/roster", RosterPage),
]


class RegistrationsPage(AdminPage):
    """档案 / 户口信息审核 for accounts with permission on that module."""

    async def show(self, module: str, status: str, notice: str | None = None, error: str | None = None):
        if module not in registrations.MODULES or status not in ("draft", "submitted", "approved", "returned"):
            raise DomainError("invalid_input")
        actor = self.current_user
        if actor.role in ("school", "department") and actor.permission(module) == "none":
            raise DomainError("module_disabled", "您没有该模块的权限")
        cond, args = policy.graduate_scope(actor, "g")
        rows = await self.db.fetchall(
            "SELECT r.id, r.status, r.data, r.reason, r.version, r.updated_at, g.name, g.id_masked, g.department,"
            " g.major, g.origin FROM registrations r JOIN graduates g ON g.id=r.graduate_id"
            f" WHERE {cond} AND r.module=%s AND r.status=%s ORDER BY r.id DESC LIMIT 100", [*args, module, status])
        for r in rows:
            r["data"] = json.loads(r["data"])
        self.render("admin/registrations.html", rows=rows, module=module, status=status, names=registrations.MODULES,
                    field_labels=registrations.FIELD_LABELS, notice=notice, error=error,
                    actor=actor, writable=actor.role in ("school", "department")
                    and actor.permission(module) == "read_write")

    @staff_page
    async def get(self):
        done = registrations.DECISIONS.get(self.get_query_argument("done", ""))
        done, reg_id = done and "已" + done[1], self.get_query_argument("id", "")
        cond, args = policy.registration_scope(self.current_user, "r")
        reviewed = done and reg_id.isdigit() and await self.db.fetchone(  # whose registration, named on screen only
            f"SELECT g.name FROM registrations r JOIN graduates g ON g.id=r.graduate_id WHERE r.id=%s AND {cond}",
            [int(reg_id), *args])
        await self.show(self.get_query_argument("module", "archive"), self.get_query_argument("status", "submitted"),
                        notice=reviewed and f"{done}：{reviewed['name']}")

    @staff_page
    async def post(self):
        reg_id, version = self.get_body_argument("id", ""), self.get_body_argument("version", "")
        decision, module = self.get_body_argument("decision", ""), self.get_body_argument("module", "archive")
        if not reg_id.isdigit():
            raise DomainError("not_found")
        try:
            row = await registrations.review(self.db, self.current_user, int(reg_id), decision,
                                             self.get_body_argument("reason", "").strip() or None,
                                             int(version) if version.isdigit() else None)
        except DomainError as exc:  # the list comes back with the reason on top
            status, message = status_and_message(exc.code, exc.message)
            if status in (403, 404):
                raise
            self.set_status(status)
            await self.show(module, "submitted", error=message)
            return
        self.redirect(f"/admin/registrations?module={row['module']}&status=submitted&done={decision}&id={row['id']}")


routes.append((r"/admin/registrations", RegistrationsPage))
