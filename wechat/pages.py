"""The base of the mobile H5 pages opened from WeChat: HTML answers (errors too), the WeChat identity
(openid) from a signed cookie set after OAuth2, and decorators that send the visitor through OAuth2.

Other H5 pages use it like this:

    class MyRecordsPage(WeChatPage):
        @graduate_page
        async def get(self): ...   # self.current_user is the graduate bound to this WeChat
"""
from __future__ import annotations

import functools
import re
from urllib.parse import urlencode, urlsplit

import wechat.errors  # noqa: F401  (registers the error codes)
from handlers.base import PageHandler
from signing.errors import DomainError

OPENID_COOKIE = "wx_openid"
DEFAULT_NEXT = "/wx/home"
_UNSAFE_IN_PATH = re.compile(r"[\\\x00-\x20\x7f]")
# Links on /wx/home; the record pages add theirs here.
HOME_LINKS = [("/wx/bind", "微信绑定与解绑")]


def safe_next(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """A local path for redirects after OAuth/binding: never another host (no scheme, no //, no backslash)."""
    if not value or len(value) > 512 or not value.startswith("/") or value.startswith("//"):
        return default
    if _UNSAFE_IN_PATH.search(value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def oauth_entry(next_path: str) -> str:
    return "/wx/oauth?" + urlencode({"next": next_path})


async def bound_user(db, openid: str) -> dict | None:
    return await db.fetchone("SELECT * FROM users WHERE wechat_openid=%s", (openid,))


async def graduate_summary(db, user_id: int) -> dict | None:
    return await db.fetchone(
        "SELECT u.id AS user_id, u.wechat_bound_at AS bound_at, g.name, g.id_masked, g.department, g.major,"
        " g.level, g.cohort, g.status, s.name AS school_name, s.phone AS school_phone"
        " FROM users u JOIN graduates g ON g.id=u.graduate_id JOIN schools s ON s.id=g.school_id"
        " WHERE u.id=%s", (user_id,))


class WeChatPage(PageHandler):
    openid: str | None = None

    async def prepare(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        raw = self.get_signed_cookie(OPENID_COOKIE, max_age_days=1)
        self.openid = raw.decode() if raw else None
        await super().prepare()

    def set_openid(self, openid: str) -> None:
        self.set_signed_cookie(OPENID_COOKIE, openid, expires_days=None, httponly=True, samesite="Lax",
                               secure=self.config.is_production)
        self.openid = openid

    def message_link(self, code: str) -> tuple[str, str] | None:
        return (oauth_entry(DEFAULT_NEXT), "重新进入") if code.startswith("wechat_oauth") else None


def openid_required(method):
    """The page needs the visitor's WeChat identity: without it, go through OAuth2 and come back."""
    @functools.wraps(method)
    async def wrapper(self: WeChatPage, *args, **kwargs):
        if self.openid is None:
            if self.request.method not in ("GET", "HEAD"):
                raise DomainError("wechat_oauth_state_invalid")  # a form posted after the cookie expired
            self.redirect(oauth_entry(safe_next(self.request.uri)))
            return None
        return await method(self, *args, **kwargs)
    return wrapper


def graduate_page(method):
    """The page needs the graduate bound to this WeChat, logged in. Unbound: to /wx/bind. Bound but
    not (or someone else) logged in: through OAuth2 again, whose fresh code logs the graduate in."""
    @openid_required
    @functools.wraps(method)
    async def wrapper(self: WeChatPage, *args, **kwargs):
        user = await bound_user(self.db, self.openid)
        here = safe_next(self.request.uri)
        if user is None:
            self.redirect("/wx/bind?" + urlencode({"next": here}))
            return None
        if self.current_user is None or self.current_user.user_id != user["id"]:
            self.redirect(oauth_entry(here))
            return None
        return await method(self, *args, **kwargs)
    return wrapper
