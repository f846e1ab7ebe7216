"""Login, logout, the current account, password change."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Answer, Body
from signing import accounts
from signing.actors import ROLE_NAMES
from signing.errors import DomainError
from signing.oplog import record_operation


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64, description="账号；毕业生也可用身份证号或手机号")
    password: str = Field(min_length=1, max_length=128)


class PasswordBody(Body):
    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class Account(Answer):
    id: int
    role: str
    role_name: str
    name: str
    province_code: str | None
    school_id: int | None
    department: str | None
    employer_id: int | None
    graduate_id: int | None
    permissions: dict[str, Literal["read_write", "read_only", "none"]] = Field(
        description="school and department accounts: module (employment, archive, hukou) -> access")
    level_scope: str


class AccountAnswer(Answer):
    account: Account


class SessionAnswer(Answer):
    xsrf_token: str = Field(description="send it as the X-XSRFToken header (with the _xsrf cookie this answer sets)"
                                        " on every POST, PUT, PATCH and DELETE")
    xsrf_header: Literal["X-XSRFToken"]
    xsrf_cookie: Literal["_xsrf"]
    account: Account | None = Field(description="the logged-in account, or null")


class OkAnswer(Answer):
    ok: Literal[True]


def account_view(actor) -> dict:
    return {
        "id": actor.user_id, "role": actor.role, "role_name": ROLE_NAMES[actor.role], "name": actor.name,
        "province_code": actor.province_code, "school_id": actor.school_id, "department": actor.department,
        "employer_id": actor.employer_id, "graduate_id": actor.graduate_id,
        "permissions": actor.permissions, "level_scope": actor.level_scope,
    }


class LoginHandler(BaseHandler):
    @authorize(None)
    @api("Log in (sets a signed session cookie); first GET /api/session for the xsrf token", body=LoginBody,
         tag="accounts", responses={"401": "wrong credentials", "429": "locked after 5 failures"},
         response=AccountAnswer)
    async def post(self):
        body = self.json_body(LoginBody)
        user = await accounts.authenticate(self.db, self.redis, self.vault, body.username, body.password,
                                           self.request.remote_ip)
        await self.start_session(user)
        actor = await accounts.load_actor(self.db, user["id"], user["session_version"], self.request.remote_ip)
        self.write_json({"account": account_view(actor)})


class LogoutHandler(BaseHandler):
    @authorize(None)
    @api("Log out", tag="accounts", response=OkAnswer)
    async def post(self):
        await self.end_session()
        self.write_json({"ok": True})


class MeHandler(BaseHandler):
    @authorize("account.self")
    @api("The logged-in account with its role, scope and module permissions", tag="accounts",
         response=AccountAnswer)
    async def get(self):
        self.write_json({"account": account_view(self.current_user)})


class PasswordHandler(BaseHandler):
    @authorize("account.self")
    @api("Change my password (other sessions are signed out)", body=PasswordBody, tag="accounts",
         response=OkAnswer)
    async def post(self):
        body = self.json_body(PasswordBody)
        accounts.check_password_strength(body.new_password)
        row = await self.db.fetchone("SELECT password_hash FROM users WHERE id=%s", (self.current_user.user_id,))
        if not await accounts.verify_password(row["password_hash"], body.old_password):
            raise DomainError("login_failed", "原密码不正确")
        new_hash = await accounts.hash_password(body.new_password)
        async with self.db.transaction() as cur:
            await cur.execute("UPDATE users SET password_hash=%s, session_version=session_version+1 WHERE id=%s",
                              (new_hash, self.current_user.user_id))
            await record_operation(cur, self.current_user, "account.password", "user", self.current_user.user_id,
                                   "修改登录密码")
        await accounts.forget_actors(self.db, self.redis, [self.current_user.user_id])
        user = await self.db.fetchone("SELECT * FROM users WHERE id=%s", (self.current_user.user_id,))
        await accounts.close_all_sessions(self.redis, user["id"])
        await self.start_session(user)
        self.write_json({"ok": True})


class SessionHandler(BaseHandler):
    @authorize(None)
    @api("The xsrf token for API clients (sets the _xsrf cookie) and the logged-in account, if any", tag="accounts",
         response=SessionAnswer)
    async def get(self):
        self.write_json({"xsrf_token": self.xsrf_token.decode(), "xsrf_header": "X-XSRFToken", "xsrf_cookie": "_xsrf",
                         "account": account_view(self.current_user) if self.current_user else None})


routes = [
    (r"/api/session", SessionHandler),
    (r"/api/login", LoginHandler),
    (r"/api/logout", LogoutHandler),
    (r"/api/me", MeHandler),
    (r"/api/me/password", PasswordHandler),
]
