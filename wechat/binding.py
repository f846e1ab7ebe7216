"""Binding a WeChat identity (openid) to a graduate's account, unbinding, the landing page, and the
binding status as JSON. One openid per graduate and one graduate per openid (unique column)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pymysql

from handlers.base import BaseHandler, api, authorize
from handlers.errors import status_and_message
from server import accounts
from signing.errors import DomainError
from signing.oplog import record_operation
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
    # authenticate() counts failures per identifier and locks after five.
    return await accounts.authenticate(page.db, page.redis, page.vault, identifier, password)


# How a graduate proves who they are before binding. Extension point: the SMS-code method registers
# here (e.g. "sms_code": BindMethod("短信验证码", verify_by_sms_code)) and adds its fields to bind.html.
BIND_METHODS: dict[str, BindMethod] = {"password": BindMethod("登录密码", verify_by_password)}


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
        except pymysql.err.IntegrityError as exc:  # bound to someone else a moment ago
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
        self.render_form(next_path=safe_next(self.get_query_argument("next", "")))

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
        self.start_session(fresh)
        self.redirect(next_path)

    def render_form(self, next_path: str, method: str = "password", identifier: str = "",
                    error: str | None = None, status: int = 200) -> None:
        self.set_status(status)
        self.render("wechat/bind.html", methods=[(k, m.label) for k, m in BIND_METHODS.items()],
                    method=method, identifier=identifier, next_path=next_path, error=error)

    async def render_bound(self, user_id: int, notice: str | None = None) -> None:
        account = await graduate_summary(self.db, user_id)
        self.render("wechat/bound.html", account=account, notice=notice)


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
        self.end_session()
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
    (r"/wx/unbind", UnbindPage),
    (r"/wx/home", HomePage),
    (r"/api/wechat/binding", BindingApiHandler),
]
