"""WeChat web authorisation (OAuth2, snsapi_base) in front of every H5 page.

/wx/oauth?next=/wx/... keeps a random state (CSRF) and `next` in a signed cookie and sends the browser to
WeChat's authorize page; /wx/oauth/callback checks the state, exchanges the single-use code for the openid,
and logs the bound graduate in (or sends them to /wx/bind)."""
from __future__ import annotations

import hmac
import json
import secrets
import time
from urllib.parse import urlencode

from signing.errors import DomainError
from wechat.client import WeChatError, authorize_url
from wechat.pages import WeChatPage, bound_user, safe_next
from wechat.service import wechat_of

STATE_COOKIE = "wx_oauth_state"
STATE_TTL_SECONDS = 600
CODE_ERRORS = {40029, 40163, 41008}  # invalid, already used, missing code


class OAuthStartHandler(WeChatPage):
    async def get(self):
        state = secrets.token_urlsafe(24)
        saved = {"state": state, "next": safe_next(self.get_query_argument("next", "")), "at": int(time.time())}
        self.set_signed_cookie(STATE_COOKIE, json.dumps(saved), expires_days=None, httponly=True,
                               samesite="Lax", secure=self.config.is_production)
        redirect_uri = self.config.public_base_url.rstrip("/") + "/wx/oauth/callback"
        self.redirect(authorize_url(self.config, redirect_uri, state))


class OAuthCallbackHandler(WeChatPage):
    async def get(self):
        saved = self.take_saved_state()
        given = self.get_query_argument("state", "")
        if saved is None or not hmac.compare_digest(saved["state"].encode(), given.encode()):
            raise DomainError("wechat_oauth_state_invalid")
        code = self.get_query_argument("code", "")
        if not code:
            raise DomainError("wechat_oauth_code_invalid")
        try:
            openid = await wechat_of(self.application).api.oauth_openid(code)
        except WeChatError as exc:
            raise DomainError("wechat_oauth_code_invalid" if exc.errcode in CODE_ERRORS
                              else "wechat_unavailable") from exc
        self.set_openid(openid)
        user = await bound_user(self.db, openid)
        if user is None:
            self.redirect("/wx/bind?" + urlencode({"next": saved["next"]}))
            return
        if not user["is_active"]:
            raise DomainError("account_disabled")
        await self.start_session(user)
        self.redirect(saved["next"])

    def take_saved_state(self) -> dict | None:
        """The state cookie, used once: cleared whatever the outcome."""
        raw = self.get_signed_cookie(STATE_COOKIE, max_age_days=1)
        self.clear_cookie(STATE_COOKIE)
        try:
            saved = json.loads(raw) if raw else None
        except ValueError:
            return None
        if not isinstance(saved, dict) or time.time() - saved.get("at", 0) > STATE_TTL_SECONDS:
            return None
        saved["next"] = safe_next(saved.get("next"))
        return saved if isinstance(saved.get("state"), str) else None


routes = [
    (r"/wx/oauth", OAuthStartHandler),
    (r"/wx/oauth/callback", OAuthCallbackHandler),
]
