"""Login, logout, the current account, password change."""
from __future__ import annotations

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Body
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


def account_view(actor) -> dict:
    return {
        "id": actor.user_id, "role": actor.role, "role_name": ROLE_NAMES[actor.role], "name": actor.name,
        "province_code": actor.province_code, "school_id": actor.school_id, "department": actor.department,
        "employer_id": actor.employer_id, "graduate_id": actor.graduate_id,
        "permissions": actor.permissions, "level_scope": actor.level_scope,
    }


class LoginHandler(BaseHandler):
    @authorize(None)
    @api("Log in (sets a signed session cookie)", body=LoginBody, tag="accounts",
         responses={"401": "wrong credentials", "429": "locked after 5 failures"})
    async def post(self):
        body = self.json_body(LoginBody)
        user = await accounts.authenticate(self.db, self.redis, self.vault, body.username, body.password,
                                           self.request.remote_ip)
        await self.start_session(user)
        actor = await accounts.load_actor(self.db, user["id"], user["session_version"], self.request.remote_ip)
        self.write_json({"account": account_view(actor)})


class LogoutHandler(BaseHandler):
    @authorize(None)
    @api("Log out", tag="accounts")
    async def post(self):
        await self.end_session()
        self.write_json({"ok": True})


class MeHandler(BaseHandler):
    @authorize("account.self")
    @api("The logged-in account with its role, scope and module permissions", tag="accounts")
    async def get(self):
        self.write_json({"account": account_view(self.current_user)})


class PasswordHandler(BaseHandler):
    @authorize("account.self")
    @api("Change my password (other sessions are signed out)", body=PasswordBody, tag="accounts")
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
        user = await self.db.fetchone("SELECT * FROM users WHERE id=%s", (self.current_user.user_id,))
        await accounts.close_all_sessions(self.redis, user["id"])
        await self.start_session(user)
        self.write_json({"ok": True})


routes = [
    (r"/api/login", LoginHandler),
    (r"/api/logout", LogoutHandler),
    (r"/api/me", MeHandler),
    (r"/api/me/password", PasswordHandler),
]
