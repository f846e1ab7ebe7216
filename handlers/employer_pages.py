"""The employer's web pages (mobile first, usable on a desktop): log in, register, certification documents,
find a graduate and invite them with the full job details, follow invitations, and ask for or answer a
cancellation. Every page goes through the same functions, services and policy as the employer API
(handlers/employers.py, handlers/uploads.py, signing/)."""
from __future__ import annotations

import functools
from datetime import timedelta
from urllib.parse import urlencode

import tornado.web

from handlers.base import PageHandler, validate
from handlers.employers import (
    GraduateIdentity,
    InvitationBody,
    RegisterBody,
    find_graduate,
    invite_graduate,
    register_employer,
)
from handlers.errors import status_and_message
from handlers.pages import CONFIRM, UNIT_FIELDS, form_data, form_problems
from handlers.uploads import StreamedUpload, store_certification_document
from signing import accounts, clock
from signing import transitions as tt
from signing.codes import CANCEL_REASONS
from signing.errors import DomainError
from signing.record_data import AGREEMENT_REQUIRED
from signing.records_query import own_records, record_detail
from signing.records_service import perform
from wechat.pages import safe_next

HOME = "/employer"
REGISTER_FIELDS = [("name", "单位名称", "text"), ("credit_code", "统一社会信用代码", "text"),
                   ("address", "单位地址", "text"), ("contact_name", "联系人姓名", "text"),
                   ("contact_phone", "联系人手机", "tel"), ("username", "登录账号（字母、数字）", "text"),
                   ("password", "登录密码（至少8位，含字母和数字）", "password")]
DOCUMENTS = {"licence": "加盖公章的营业执照", "authorisation": "加盖公章的网签授权书（经办人身份证复印件附后）"}
CERTIFICATION_TEXT = {"pending": "待平台审核认证", "certified": "已通过实名认证", "refused": "认证未通过"}
EMPLOYER_BUTTONS = {"revoke": "撤回签约邀请", "request_cancel": "申请解约", "accept_cancel": "同意解约",
                    "refuse_cancel": "拒绝解约"}
EMPLOYER_CONFIRM = {"revoke": "撤回后该邀请失效，毕业生不能再接受。确定撤回吗？",
                    "request_cancel": "解约申请将发给毕业生确认，双方同意后由学校审核。确定申请解约吗？",
                    "accept_cancel": CONFIRM["accept_cancel"],
                    "refuse_cancel": "拒绝后协议继续有效。确定拒绝解约吗？"}


def page_error(error: DomainError, labels: dict[str, str]) -> str:
    """The refusal's Chinese message; a form's field problems are named by their labels, never by their keys."""
    problems = form_problems(error)
    if error.code == "invalid_input" and problems and isinstance(error.details, list):
        return "请修改标出的项目：" + "、".join(labels.get(name, "填写内容") for name in problems)
    return status_and_message(error.code, error.message)[1]


class EmployerPage(PageHandler):
    error_title = "无法继续"

    async def prepare(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        await super().prepare()

    def message_link(self, code: str) -> tuple[str, str] | None:
        return ("/employer/login", "登录") if code == "not_logged_in" else (HOME, "返回单位首页")

    async def employer(self) -> dict:
        return await self.db.fetchone(
            "SELECT id, name, credit_code, address, contact_name, contact_phone_masked, certification,"
            " certification_note, licence_upload_id, authorisation_upload_id FROM employers WHERE id=%s",
            (self.current_user.employer_id,))

    def refused(self, error: DomainError) -> None:
        self.set_status(status_and_message(error.code, error.message)[0])


def employer_page(method):
    """Logged-in employers only; others go to the login page and come back."""
    @functools.wraps(method)
    async def wrapper(self: EmployerPage, *args, **kwargs):
        if self.current_user is None or self.current_user.role != "employer":
            if self.request.method not in ("GET", "HEAD"):
                raise DomainError("not_logged_in")
            self.redirect("/employer/login?" + urlencode({"next": safe_next(self.request.uri, HOME)}))
            return None
        return await method(self, *args, **kwargs)
    return wrapper


class LoginPage(EmployerPage):
    async def get(self):
        self.render("employer/login.html", error=None, username="",
                    next=safe_next(self.get_query_argument("next", None), HOME))

    async def post(self):
        next_path = safe_next(self.get_body_argument("next", None), HOME)
        username = self.get_body_argument("username", "").strip()
        try:
            user = await accounts.authenticate(self.db, self.redis, self.vault, username,
                                               self.get_body_argument("password", ""), self.request.remote_ip)
            if user["role"] != "employer":
                raise DomainError("forbidden", "此入口供用人单位使用，请使用单位账号登录")
        except DomainError as exc:
            self.refused(exc)
            self.render("employer/login.html", error=status_and_message(exc.code, exc.message)[1], username=username,
                        next=next_path)
            return
        await self.start_session(user)
        self.redirect(next_path)


class LogoutPage(EmployerPage):
    async def post(self):
        await self.end_session()
        self.redirect("/employer/login")


class RegisterPage(EmployerPage):
    def show(self, data: dict, error: DomainError | None = None):
        labels = {name: label for name, label, _ in REGISTER_FIELDS}
        self.render("employer/register.html", fields=REGISTER_FIELDS, data=data,
                    error=page_error(error, labels) if error else None, problems=form_problems(error))

    async def get(self):
        self.show({})

    async def post(self):
        data = {name: self.get_body_argument(name, "").strip() for name, _, _ in REGISTER_FIELDS}
        data["password"] = self.get_body_argument("password", "")
        try:
            body = validate(RegisterBody, {**data, "certification_method": "licence"})
            await register_employer(self, body)
        except DomainError as exc:
            self.refused(exc)
            self.show({**data, "password": ""}, exc)  # the password is typed again, never sent back
            return
        user = await self.db.fetchone("SELECT * FROM users WHERE username=%s", (body.username,))
        await self.start_session(user)
        self.redirect("/employer/certification?registered=1")


class HomePage(EmployerPage):
    @employer_page
    async def get(self):
        self.render("employer/home.html", employer=await self.employer(), status=CERTIFICATION_TEXT,
                    records=await own_records(self.db, self.current_user), button_text=EMPLOYER_BUTTONS)


async def show_certification(page: EmployerPage, errors: dict[str, str] | None = None) -> None:
    """The status and the two documents; `errors`: a refused photo's reason beside its document."""
    page.render("employer/certification.html", employer=await page.employer(), status=CERTIFICATION_TEXT,
                documents=DOCUMENTS, errors=errors or {}, registered=page.get_query_argument("registered", None),
                done=page.get_query_argument("done", None))


class CertificationPage(EmployerPage):
    @employer_page
    async def get(self):
        await show_certification(self)


@tornado.web.stream_request_body
class CertificationUploadPage(StreamedUpload, EmployerPage):
    """One certification photo from the page's form: accepted → back to the status page; refused → the same
    page with the check's reason beside that document."""
    xsrf_in_form = True

    async def prepare(self):
        self.refuse_declared_size()
        await super().prepare()

    @employer_page
    async def post(self, document):
        try:
            await store_certification_document(self, document, self.uploaded_file())
        except DomainError as exc:
            if not exc.code.startswith(("image_", "upload_")):
                raise
            self.refused(exc)
            await show_certification(self, {document: status_and_message(exc.code, exc.message)[1]})
            return
        self.redirect(f"/employer/certification?done={document}")


class InvitePage(EmployerPage):
    """Find the graduate (name + ID number), then the invitation with the job details and a deadline."""

    async def show(self, step: str, graduate: dict | None = None, identity: dict | None = None,
                   data: dict | None = None, error: DomainError | None = None):
        employer = await self.employer()
        labels = {name: label for name, label, _ in UNIT_FIELDS} | {"deadline": "应约截止时间"}
        if data is None:  # the unit's own details, as registered
            data = {"unit_name": employer["name"], "credit_code": employer["credit_code"],
                    "unit_address": employer["address"] or "", "contact_name": employer["contact_name"] or ""}
        self.render("employer/invite.html", step=step, employer=employer, graduate=graduate,
                    identity=identity or {}, data=data, unit_fields=UNIT_FIELDS, required=AGREEMENT_REQUIRED,
                    error=page_error(error, labels) if error else None, problems=form_problems(error),
                    default_deadline=(clock.now() + timedelta(days=7)).strftime("%Y-%m-%dT18:00"))

    @employer_page
    async def get(self):
        await self.show("search")

    @employer_page
    async def post(self):
        arg = self.get_body_argument
        identity = {"name": arg("name", "").strip(), "id_number": arg("id_number", "").strip().upper()}
        if arg("step", "") != "invite":
            try:
                graduate = await find_graduate(self, **validate(GraduateIdentity, identity).model_dump())
            except DomainError as exc:
                self.refused(exc)
                await self.show("search", identity=identity, error=exc)
                return
            await self.show("invite", graduate, identity)
            return
        data = form_data(self, "online")  # the agreement's unit and job fields, as the graduate's forms read them
        deadline = arg("deadline", "").strip().replace("T", " ")
        try:
            body = validate(InvitationBody, {**identity, "deadline": deadline, "data": data})
            record_id = await invite_graduate(self, body)
        except DomainError as exc:
            self.refused(exc)
            graduate = None
            if exc.code not in ("graduate_not_found", "rate_limited", "employer_not_certified"):
                graduate = {"name": identity["name"]}
            await self.show("invite" if graduate else "search", graduate, identity, {**data, "deadline": deadline},
                            exc)
            return
        self.redirect(f"/employer/records/{record_id}?done=invite")


class RecordPage(EmployerPage):
    @employer_page
    async def get(self, record_id):
        record = await record_detail(self.db, self.current_user, int(record_id))
        self.render("employer/record.html", r=record, done=self.get_query_argument("done", None),
                    action_text=tt.ACTION_TEXT, unit_fields=UNIT_FIELDS, button_text=EMPLOYER_BUTTONS,
                    confirm=EMPLOYER_CONFIRM, cancel_reasons=CANCEL_REASONS)


class RecordActionPage(EmployerPage):
    @employer_page
    async def post(self, record_id, action):
        back = f"/employer/records/{int(record_id)}"
        if await self.asked_first_about(int(record_id), action, EMPLOYER_CONFIRM.get(action), back):
            return
        await perform(self.db, self.current_user, int(record_id), action, self.action_input())
        self.redirect(f"/employer/records/{int(record_id)}?done={action}")


routes = [
    (r"/employer", HomePage),
    (r"/employer/login", LoginPage),
    (r"/employer/logout", LogoutPage),
    (r"/employer/register", RegisterPage),
    (r"/employer/certification", CertificationPage),
    (r"/employer/certification/(licence|authorisation)", CertificationUploadPage),
    (r"/employer/invite", InvitePage),
    (r"/employer/records/(\d+)", RecordPage),
    (r"/employer/records/(\d+)/act/([a-z_]+)", RecordActionPage),
]
