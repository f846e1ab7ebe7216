"""Binding a WeChat identity (openid) to a graduate's account, unbinding, the landing page, and the
binding status as JSON. One openid per graduate and one graduate per openid (unique column)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import notify.errors  # noqa: F401  (registers the error codes of the SMS-code method)
from handlers.base import BaseHandler, api, authorize
from handlers.errors import status_and_message
from notify.channels import sms_of
from server.db import IntegrityError
from signing import accounts
from signing.errors import DomainError
from signing.oplog import record_operation
from signing.personal import is_valid_phone, mask_phone
from sms.limits import issue_code, reserve_code_slot, verify_code
from sms.templates import CODE_VALID_MINUTES, binding_code
from wechat.pages import (
    HOME_LINKS,
    WeChatPage,
    bound_user,
    graduate_page,
    graduate_summary,
    openid_required,
    safe_next,
)


@dataclass(frozen=True)
class BindMethod:
    label: str
    verify: Callable[[WeChatPage], Awaitable[dict]]  # the users row proven by the form, or DomainError


async def verify_by_password(page: WeChatPage) -> dict:
    identifier = page.get_body_argument("identifier", "").strip()
    password = page.get_body_argument("password", "")
    if not identifier or not password or len(identifier) > 64 or len(password) > 128:
        raise DomainError("invalid_input", "请填写身份证号或手机号，以及登录密码")
    # authenticate() counts attempts per account (whatever identifier is typed) and locks after five failures.
    return await accounts.authenticate(page.db, page.redis, page.vault, identifier, password, page.request.remote_ip)


BIND_CODE_PURPOSE = "bind"


async def graduate_by_phone(page: WeChatPage, phone: str) -> dict | None:
    user = await page.db.fetchone("SELECT * FROM users WHERE phone_hash=%s", (page.vault.blind_index(phone),))
    return user if user and user["role"] == "graduate" and user["graduate_id"] else None


async def verify_by_sms_code(page: WeChatPage) -> dict:
    phone = page.get_body_argument("identifier", "").strip()
    code = page.get_body_argument("code", "").strip()[:16]
    if not is_valid_phone(phone):
        raise DomainError("notify_phone_invalid")
    if not code:
        raise DomainError("notify_code_required")
    # verify_code counts wrong tries: the fifth voids the code (a new one must be asked for).
    if not await verify_code(page.redis, BIND_CODE_PURPOSE, phone, code):
        raise DomainError("sms_code_invalid")
    user = await graduate_by_phone(page, phone)
    if user is None:  # codes go to graduates' phones only; the account changed since
        raise DomainError("sms_code_invalid")
    if not user["is_active"]:
        raise DomainError("account_disabled")
    return user


# How a graduate proves who they are before binding; each method adds its fields to bind.html.
BIND_METHODS: dict[str, BindMethod] = {"password": BindMethod("登录密码", verify_by_password),
                                       "sms_code": BindMethod("短信验证码", verify_by_sms_code)}


def mask_openid(openid: str | None) -> str | None:
    return openid[:4] + "****" + openid[-4:] if openid else None


async def bind_openid(page: WeChatPage, user: dict, openid: str) -> None:
    if user["role"] != "graduate" or user["graduate_id"] is None:
        raise DomainError("wechat_bind_not_graduate")
    actor = await accounts.load_actor(page.db, user["id"], user["session_version"], page.request.remote_ip)
    graduate = await page.db.fetchone("SELECT school_id FROM graduates WHERE id=%s", (user["graduate_id"],))
    async with page.db.transaction() as cur:
        await cur.execute("SELECT wechat_openid FROM users WHERE id=%s FOR UPDATE", (user["id"],))
        current = (await cur.fetchone())["wechat_openid"]
        if current == openid:
            return  # bound already: nothing to do
        if current is not None:
            raise DomainError("wechat_graduate_bound_elsewhere")
        await cur.execute("SELECT id FROM users WHERE wechat_openid=%s", (openid,))
        if await cur.fetchone():
            raise DomainError("wechat_openid_bound_elsewhere")
        try:
            await cur.execute("UPDATE users SET wechat_openid=%s, wechat_subscribed=1, wechat_bound_at=NOW()"
                              " WHERE id=%s", (openid, user["id"]))
        except IntegrityError as exc:  # bound to someone else a moment ago
            raise DomainError("wechat_openid_bound_elsewhere") from exc
        await record_operation(cur, actor, "wechat.bind", "user", user["id"], "绑定微信",
                               school_id=graduate["school_id"])


class BindPage(WeChatPage):
    @openid_required
    async def get(self):
        user = await bound_user(self.db, self.openid)
        if user is not None:
            await self.render_bound(user["id"])
            return
        method = self.get_query_argument("method", "password")
        self.render_form(safe_next(self.get_query_argument("next", "")), method if method in BIND_METHODS else "password")

    @openid_required
    async def post(self):
        next_path = safe_next(self.get_body_argument("next", ""))
        method = self.get_body_argument("method", "password")
        identifier = self.get_body_argument("identifier", "").strip()[:64]
        if method not in BIND_METHODS:
            raise DomainError("wechat_bind_method_unknown")
        try:
            user = await BIND_METHODS[method].verify(self)
            await bind_openid(self, user, self.openid)
        except DomainError as exc:
            status, message = status_and_message(exc.code, exc.message)
            self.render_form(next_path, method, identifier, error=message, status=status)
            return
        fresh = await self.db.fetchone("SELECT * FROM users WHERE id=%s", (user["id"],))
        await self.start_session(fresh)
        self.redirect(next_path)

    def render_form(self, next_path: str, method: str = "password", identifier: str = "",
                    error: str | None = None, status: int = 200, notice: str | None = None) -> None:
        self.set_status(status)
        self.render("wechat/bind.html", methods=[(k, m.label) for k, m in BIND_METHODS.items()],
                    method=method, identifier=identifier, next_path=next_path, error=error, notice=notice,
                    code_form=method == "sms_code" and is_valid_phone(identifier))  # a code was asked for

    async def render_bound(self, user_id: int, notice: str | None = None) -> None:
        account = await graduate_summary(self.db, user_id)
        self.render("wechat/bound.html", account=account, notice=notice)


class BindCodePage(BindPage):
    """Sends the binding code by SMS. The answer is the same whether or not the phone belongs to a graduate
    (no account enumeration): only the per-phone rate limit, counted either way, and a failed send differ."""

    async def get(self):
        raise DomainError("method_not_allowed")

    @openid_required
    async def post(self):
        next_path = safe_next(self.get_body_argument("next", ""))
        phone = self.get_body_argument("identifier", "").strip()[:64]
        try:
            if not is_valid_phone(phone):
                raise DomainError("notify_phone_invalid")
            await reserve_code_slot(self.redis, phone)  # 1 a minute, 5 an hour, 10 a day per phone
            if await graduate_by_phone(self, phone) is not None:
                code = await issue_code(self.redis, BIND_CODE_PURPOSE, phone)
                # The user waits for this one: sent now, in the SMS client's own threads.
                result = await sms_of(self.application).send(phone, *binding_code(code))
                if not result.ok:
                    raise DomainError("sms_send_failed")
        except DomainError as exc:
            status, message = status_and_message(exc.code, exc.message)
            self.render_form(next_path, "sms_code", phone, error=message, status=status)
            return
        self.render_form(next_path, "sms_code", phone, notice=(
            f"如果{mask_phone(phone)}是毕业生账号的手机号，验证码已发送，{CODE_VALID_MINUTES}分钟内有效。"))


class UnbindPage(WeChatPage):
    @openid_required
    async def post(self):
        user = await bound_user(self.db, self.openid)
        if user is None:
            raise DomainError("wechat_not_bound")
        actor = await accounts.load_actor(self.db, user["id"], user["session_version"], self.request.remote_ip)
        graduate = await self.db.fetchone("SELECT school_id FROM graduates WHERE id=%s", (user["graduate_id"],))
        async with self.db.transaction() as cur:
            await cur.execute("UPDATE users SET wechat_openid=NULL, wechat_subscribed=0, wechat_bound_at=NULL"
                              " WHERE id=%s AND wechat_openid=%s", (user["id"], self.openid))
            if actor is not None:
                await record_operation(cur, actor, "wechat.unbind", "user", user["id"], "解除微信绑定",
                                       school_id=graduate["school_id"] if graduate else None)
        await self.end_session()
        self.render_message("已解除绑定", "本微信已与您的账号解除绑定，之后将通过短信接收通知。", tone="ok",
                            link=("/wx/bind", "重新绑定"))


class HomePage(WeChatPage):
    @graduate_page
    async def get(self):
        account = await graduate_summary(self.db, self.current_user.user_id)
        self.render("wechat/home.html", account=account, links=HOME_LINKS)


class BindingApiHandler(BaseHandler):
    @authorize("graduate.self")
    @api("My WeChat binding: whether this account is bound, since when, and whether I follow the account",
         tag="wechat")
    async def get(self):
        row = await self.db.fetchone("SELECT wechat_openid, wechat_subscribed, wechat_bound_at FROM users"
                                     " WHERE id=%s", (self.current_user.user_id,))
        bound = row["wechat_openid"] is not None
        self.write_json({"bound": bound, "openid_masked": mask_openid(row["wechat_openid"]),
                         "subscribed": bound and bool(row["wechat_subscribed"]), "bound_at": row["wechat_bound_at"]})


routes = [
    (r"/wx/bind", BindPage),
    (r"/wx/bind/code", BindCodePage),
    (r"/wx/unbind", UnbindPage),
    (r"/wx/home", HomePage),
    (r"/api/wechat/binding", BindingApiHandler),
]
