"""The WeChat emulator's state (kept on its Application): tokens, users, template messages, OAuth codes,
media, injected failures and counters."""
from __future__ import annotations

import itertools
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from emulators.wechat_rules import EmulatedError

# The product's notification templates (SPEC 9) as the demo account has them: id -> title and keywords.
DEMO_TEMPLATES = {
    "demo_tpl_invitation": {"title": "签约邀请通知", "keywords": {
        "thing1": "用人单位", "thing2": "岗位", "time3": "应约截止时间"}},
    "demo_tpl_audit_result": {"title": "审核结果通知", "keywords": {
        "thing1": "审核事项", "phrase2": "审核结果", "thing3": "说明"}},
    "demo_tpl_record_edited": {"title": "信息变更通知", "keywords": {
        "thing1": "变更事项", "thing2": "操作单位", "time3": "变更时间"}},
    "demo_tpl_cancel_request": {"title": "解约申请通知", "keywords": {
        "thing1": "用人单位", "thing2": "申请事项", "time3": "申请时间"}},
    "demo_tpl_forced_cancel": {"title": "解约通知", "keywords": {
        "thing1": "解约事项", "thing2": "原因", "time3": "解约时间"}},
}
USER_STATES = ("subscribed", "unsubscribed", "refused")
MEDIA_LIFETIME = 3 * 24 * 3600  # temporary media lives 3 days
CODE_LIFETIME = 300
FORCE_REFRESH_INTERVAL = 30
FORCE_REFRESH_PER_DAY = 20


CLIENT_MSG_ID_SECONDS = 600  # WeChat de-duplicates template messages by openid + client_msg_id for 10 minutes


@dataclass
class Token:
    value: str
    appid: str
    expires_at: float
    revoked: bool = False

    def remaining(self, now: float) -> float:
        return -1 if self.revoked else self.expires_at - now


@dataclass
class Failure:
    errcode: int | None = None
    mode: str | None = None  # "timeout" | "http500"
    times: int = 1
    delay: float = 6.0  # seconds a "timeout" keeps the client waiting (our read timeout is 5)


@dataclass
class EmulatorState:
    apps: dict
    token_ttl: int = 7200
    templates: dict = field(default_factory=lambda: dict(DEMO_TEMPLATES))
    daily_quota: int = 100_000  # per template per day

    def __post_init__(self):
        self.reset()

    def reset(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.stable: dict[str, str] = {}  # appid -> current stable token
        self.last_force: dict[str, float] = {}
        self.users: dict[str, dict[str, str]] = {appid: {} for appid in self.apps}  # appid -> openid -> state
        self.messages: list[dict] = []
        self.client_msg_ids: dict[tuple, tuple[int, float]] = {}  # (appid, openid, client_msg_id) -> msgid, time
        self.menus: dict[str, dict] = {}
        self.media: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.tickets: dict[str, Token] = {}
        self.failures: dict[str, Failure] = {}
        self.stats: Counter = Counter()
        self.msgids = itertools.count(2_000_000_001)

    # -- credentials -----------------------------------------------------------------------------

    def check_app(self, appid, secret) -> None:
        if not appid:
            raise EmulatedError(41002)
        if appid not in self.apps:
            raise EmulatedError(40013)
        if not secret:
            raise EmulatedError(41004)
        if not secrets.compare_digest(str(secret), self.apps[appid]):
            raise EmulatedError(40125)

    @property
    def early_window(self) -> int:
        """stable_token renews 5 minutes before expiry; short test lifetimes renew in their second half."""
        return min(300, self.token_ttl // 2)

    def issue_token(self, appid: str) -> Token:
        token = Token(secrets.token_urlsafe(48), appid, time.time() + self.token_ttl)
        self.tokens[token.value] = token
        self.stats["token_issues"] += 1
        return token

    def stable_token(self, appid: str, force: bool) -> Token:
        now = time.time()
        current = self.tokens.get(self.stable.get(appid, ""))
        alive = current is not None and current.remaining(now) > 0
        if force and now - self.last_force.get(appid, 0) >= FORCE_REFRESH_INTERVAL:
            forced_today = self.stats[f"force_refresh {appid} {date.today()}"]
            if forced_today >= FORCE_REFRESH_PER_DAY:
                raise EmulatedError(45009)
            self.stats[f"force_refresh {appid} {date.today()}"] += 1
            self.last_force[appid] = now
            if current is not None:
                current.revoked = True  # a forced refresh invalidates the previous token at once
            alive = False
        if alive and current.remaining(now) > self.early_window:
            return current
        token = self.issue_token(appid)  # the previous one stays valid until its own expiry
        self.stable[appid] = token.value
        return token

    def basic_token(self, appid: str) -> Token:
        """cgi-bin/token: a new token on every call; the previous one keeps working for 5 minutes."""
        now = time.time()
        for token in self.tokens.values():
            if token.appid == appid and token.value not in self.stable.values():
                token.expires_at = min(token.expires_at, now + self.early_window)
        return self.issue_token(appid)

    def app_of_token(self, value) -> str:
        if not value:
            raise EmulatedError(41001)
        token = self.tokens.get(value)
        if token is None or token.revoked:
            raise EmulatedError(40001)
        if token.remaining(time.time()) <= 0:
            raise EmulatedError(42001)
        return token.appid

    def expire_tokens(self, how: str = "invalid") -> int:
        for token in self.tokens.values():
            if how == "expired":
                token.expires_at = time.time() - 1
            else:
                token.revoked = True
        return len(self.tokens)

    def jsapi_ticket(self, appid: str) -> Token:
        ticket = self.tickets.get(appid)
        if ticket is None or ticket.remaining(time.time()) <= 0:
            ticket = Token(secrets.token_urlsafe(64), appid, time.time() + 7200)
            self.tickets[appid] = ticket
            self.stats["ticket_issues"] += 1
        return ticket

    # -- users, OAuth codes, media ------------------------------------------------------------------

    def default_app(self) -> str:
        return next(iter(self.apps))

    def set_user(self, appid: str, openid: str, state: str) -> None:
        if appid not in self.apps or state not in USER_STATES:
            raise EmulatedError(40097)
        self.users[appid][openid] = state

    def issue_code(self, appid: str, openid: str) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = {"appid": appid, "openid": openid, "expires_at": time.time() + CODE_LIFETIME,
                            "used": False}
        return code

    def redeem_code(self, appid: str, code) -> str:
        if not code:
            raise EmulatedError(41008)
        entry = self.codes.get(code)
        if entry is None or entry["appid"] != appid or entry["expires_at"] < time.time():
            raise EmulatedError(40029)
        if entry["used"]:
            raise EmulatedError(40163)
        entry["used"] = True
        return entry["openid"]

    def add_media(self, appid: str, content: bytes, content_type: str) -> str:
        media_id = secrets.token_urlsafe(48)
        self.media[media_id] = {"appid": appid, "content": content, "content_type": content_type,
                                "created_at": time.time()}
        return media_id

    def get_media(self, appid: str, media_id) -> dict:
        entry = self.media.get(media_id or "")
        if entry is None or entry["appid"] != appid or entry["created_at"] + MEDIA_LIFETIME < time.time():
            raise EmulatedError(40007)
        return entry

    # -- failures injected by tests ----------------------------------------------------------------

    def take_failure(self, path: str) -> Failure | None:
        failure = self.failures.get(path)
        if failure is None:
            return None
        failure.times -= 1
        if failure.times <= 0:
            del self.failures[path]
        return failure

    def sent_with_client_msg_id(self, appid: str, openid: str, client_msg_id) -> int | None:
        """The msgid already sent to this openid with this client_msg_id in the last 10 minutes, if any."""
        if client_msg_id is None:
            return None
        sent = self.client_msg_ids.get((appid, openid, client_msg_id))
        return sent[0] if sent and time.time() - sent[1] < CLIENT_MSG_ID_SECONDS else None

    def count_template_send(self, appid: str, template_id: str) -> None:
        key = f"template_quota {appid} {template_id} {date.today()}"
        if self.stats[key] >= self.daily_quota:
            raise EmulatedError(45009)
        self.stats[key] += 1
