"""WeChatApi: wechatpy's client pointed at Settings.wechat_api_base, with the access_token shared by every
process through Redis (one refresher at a time) and async methods that run wechatpy in an executor."""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.exceptions import WeChatClientException

log = logging.getLogger("wangqian.wechat")

WECHAT_API_HOST = "api.weixin.qq.com"
PRODUCTION_OAUTH_BASE = "https://open.weixin.qq.com/connect/"
TIMEOUT = (3.0, 5.0)  # connect, read (seconds)
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, expired token
NOT_SUBSCRIBED = {43004, 43101}  # require subscribe, user refused to accept the message
WAIT = {45009, 45011, 45047}  # daily quota, minute quota, over the per-user limit: retry much later
RETRYABLE = {-1} | TOKEN_ERRORS  # system busy; a token error that outlived our one refresh
LOCK_MS = 20_000  # longer than two token requests at full timeout
# A process keeps what it read from Redis this long at most (and never past its Redis expiry): the notifier
# sends hundreds of messages a second and need not ask Redis for the token each time. A token another process
# replaced is refused by WeChat (40001) and then read again at once (_call), as before.
LOCAL_SECONDS = 30.0
# wechatpy blocks on HTTP for up to 8 s: its own threads, so it never starves the default executor
# (password hashing runs there).
_EXECUTOR = ThreadPoolExecutor(max_workers=16, thread_name_prefix="wechat-api")
_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class WeChatError(Exception):
    """A refusal or failure of the WeChat API. `kind` tells the caller what to do:
    retryable (try again soon), wait (quota: try much later), not_subscribed (use SMS), permanent (give up)."""

    def __init__(self, errcode: int | None, errmsg: str, http_status: int | None = None, timeout: bool = False):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.http_status = http_status
        self.timeout = timeout

    @property
    def kind(self) -> str:
        if self.errcode is None:  # no WeChat answer: timeout, network, HTTP status
            return "permanent" if self.http_status and 400 <= self.http_status < 500 else "retryable"
        if self.errcode in RETRYABLE:
            return "retryable"
        if self.errcode in WAIT:
            return "wait"
        if self.errcode in NOT_SUBSCRIBED:
            return "not_subscribed"
        return "permanent"

    @property
    def retryable(self) -> bool:
        return self.kind == "retryable"

    @property
    def wait(self) -> bool:
        return self.kind == "wait"

    @property
    def not_subscribed(self) -> bool:
        return self.kind == "not_subscribed"

    @property
    def permanent(self) -> bool:
        return self.kind == "permanent"


def pin_environment(session: requests.Session, base: str) -> None:
    """requests reads the proxy variables, NO_PROXY, ~/.netrc and the CA bundle variables again at every call: a
    third of a WeChat call's CPU in the notifier. A client calls one host, so they are read once, here, with the
    same meaning (`requests.Session.merge_environment_settings`)."""
    session.proxies.update(requests.utils.get_environ_proxies(base))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def api_base(config) -> str:
    base = config.wechat_api_base.strip()
    return base if base.endswith("/") else base + "/"


def oauth_base(config) -> str:
    """Real WeChat authorises on open.weixin.qq.com; the emulator serves the page itself."""
    base = api_base(config)
    return PRODUCTION_OAUTH_BASE if urlsplit(base).hostname == WECHAT_API_HOST else base + "connect/"


class _SyncClient(WeChatClient):
    """wechatpy's client with every URL on our base. The access_token is handed in per call by WeChatApi
    (from Redis): wechatpy's own expiry bookkeeping lives in one process's memory, so it is bypassed."""

    def __init__(self, base: str, appid: str, secret: str, timeout):
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        pin_environment(self._http, base)
        self.base = base
        self.API_BASE_URL = base + "cgi-bin/"
        for _, endpoint in inspect.getmembers(self, lambda o: isinstance(o, BaseWeChatAPI)):
            own_base = getattr(endpoint, "API_BASE_URL", None)
            if own_base:
                endpoint.API_BASE_URL = own_base.replace(f"https://{WECHAT_API_HOST}/", base)
        self._call_token = threading.local()

    @property
    def access_token(self) -> str:
        token = getattr(self._call_token, "value", None)
        if token is None:
            raise RuntimeError("WeChat API called without an access_token from WeChatApi")
        return token

    def with_token(self, token: str, request):
        self._call_token.value = token
        try:
            return request(self)
        finally:
            self._call_token.value = None

    def fetch_access_token(self, force_refresh: bool = False) -> dict:
        """POST cgi-bin/stable_token: unlike cgi-bin/token, asking again does not revoke the token
        other processes are using (only force_refresh does)."""
        result = self._request("post", self.base + "cgi-bin/stable_token", params=None, data={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": force_refresh})
        if not isinstance(result, dict) or "access_token" not in result:
            raise ValueError("stable_token answer without access_token")
        return result


class _SyncOAuth(WeChatOAuth):
    def __init__(self, config, redirect_uri: str = "", state: str = "", timeout=TIMEOUT):
        super().__init__(config.wechat_app_id, config.wechat_app_secret, redirect_uri, "snsapi_base", state)
        self.API_BASE_URL = api_base(config)
        self.OAUTH_BASE_URL = oauth_base(config)
        self.timeout = timeout
        pin_environment(self._http, self.API_BASE_URL)

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super()._request(method, url_or_endpoint, **kwargs)


def authorize_url(config, redirect_uri: str, state: str) -> str:
    """Where the browser goes for snsapi_base authorisation (no WeChat call is made here)."""
    return _SyncOAuth(config, redirect_uri, state).authorize_url


def _translated(request):
    """Runs a wechatpy call, turning every failure into WeChatError."""
    def run():
        try:
            return request()
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = exc.response.status_code if exc.response is not None else None
                raise WeChatError(None, f"HTTP {status}", http_status=status) from exc
            raise WeChatError(int(exc.errcode), str(exc.errmsg)) from exc
        except requests.Timeout as exc:
            raise WeChatError(None, "timeout", timeout=True) from exc
        except requests.RequestException as exc:
            raise WeChatError(None, f"network error: {type(exc).__name__}") from exc
        except ValueError as exc:  # a body that is not the JSON WeChat documents
            raise WeChatError(None, "malformed answer") from exc
    return run


def cache_seconds(expires_in: int) -> int:
    """Keep a token a bit less than its life: stable_token hands out a new one in the last 5 minutes."""
    expires_in = int(expires_in)
    return max(1, expires_in - min(300, expires_in // 2))


class WeChatApi:
    def __init__(self, config, redis, timeout=TIMEOUT):
        self.config = config
        self.redis = redis
        self.timeout = timeout
        self.appid = config.wechat_app_id
        self.client = _SyncClient(api_base(config), config.wechat_app_id, config.wechat_app_secret, timeout)
        self.token_key = f"wechat:{self.appid}:access_token"
        self.ticket_key = f"wechat:{self.appid}:jsapi_ticket"
        self._local: dict[str, tuple[str, float]] = {}  # key -> (value, monotonic deadline); see LOCAL_SECONDS

    # -- the calls the product makes --------------------------------------------------------------

    async def send_template(self, openid: str, template_id: str, data: dict, url: str | None = None,
                            client_msg_id: str | None = None) -> dict:
        """{"errcode": 0, "errmsg": "ok", "msgid": N}, or WeChatError. `client_msg_id` (防重入id): WeChat sends
        one message per openid + id within 10 minutes, so a retry of an attempt in doubt cannot duplicate it.
        wechatpy's send_template has no such field: the same request goes through the client's post."""
        message = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            message["url"] = url
        if client_msg_id:
            message["client_msg_id"] = client_msg_id
        return await self._call(lambda c: c.post("message/template/send", data=message))

    async def create_menu(self, menu: dict) -> dict:
        return await self._call(lambda c: c.menu.create(menu))

    async def get_jsapi_ticket(self) -> str:
        async def fetch(_stale):
            result = await self._call(lambda c: c.jsapi.get_ticket("jsapi"))
            return result["ticket"], cache_seconds(result["expires_in"])
        return await self._shared(self.ticket_key, None, fetch)

    async def oauth_openid(self, code: str) -> str:
        """Exchanges an snsapi_base code (single use, 5 minutes) for the user's openid."""
        result = await self._run(lambda: _SyncOAuth(self.config, timeout=self.timeout).fetch_access_token(code))
        return result["openid"]

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file (e.g. a photo from wx.uploadImage); a JSON answer is an error."""
        res = await self._call(lambda c: c.media.download(media_id))
        if isinstance(res, dict):
            raise WeChatError(None, "media answer is JSON without content")
        return res.content, res.headers.get("Content-Type", "application/octet-stream")

    # -- access_token shared through Redis --------------------------------------------------------

    async def access_token(self) -> str:
        return await self._shared(self.token_key, None, self._fetch_token)

    async def _fetch_token(self, stale: str | None) -> tuple[str, int]:
        result = await self._run(lambda: self.client.fetch_access_token())
        if stale is not None and result["access_token"] == stale:
            # WeChat refused this very token yet still hands it out: only a forced refresh replaces it.
            result = await self._run(lambda: self.client.fetch_access_token(force_refresh=True))
        return result["access_token"], cache_seconds(result["expires_in"])

    async def _call(self, request):
        token = await self.access_token()
        try:
            return await self._run(lambda: self.client.with_token(token, request))
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeChat refused the access_token (%s); replacing it once", exc.errcode)
        token = await self._shared(self.token_key, token, self._fetch_token)
        return await self._run(lambda: self.client.with_token(token, request))

    async def _shared(self, key: str, stale: str | None, fetch) -> str:
        """The value cached under `key` unless missing or equal to `stale` (the one WeChat just refused).
        Then one process (Redis lock) fetches it; the others wait and read what it stored."""
        value, until = self._local.get(key, (None, 0.0))
        if value and value != stale and time.monotonic() < until:
            return value
        lock_key, owner = key + ":lock", secrets.token_hex(8)
        deadline = time.monotonic() + LOCK_MS / 1000 + 1
        while True:
            async with self.redis.pipeline(transaction=False) as pipe:
                value, ttl_ms = await pipe.get(key).pttl(key).execute()
            value = _text(value)
            if value and value != stale:
                self._keep(key, value, ttl_ms / 1000)
                return value
            if await self.redis.set(lock_key, owner, nx=True, px=LOCK_MS):
                try:
                    value = _text(await self.redis.get(key))
                    if value and value != stale:
                        return value
                    value, ttl = await fetch(stale)
                    await self.redis.set(key, value, ex=ttl)
                    self._keep(key, value, ttl)
                    return value
                finally:
                    await self.redis.eval(_RELEASE_LOCK, 1, lock_key, owner)
            if time.monotonic() > deadline:
                raise WeChatError(-1, f"timed out waiting for another process to refresh {key}")
            await asyncio.sleep(0.05)

    def _keep(self, key: str, value: str, seconds: float) -> None:
        if seconds > 0:  # pttl is -1 for a key without expiry (never set so here) and -2 for a missing one
            self._local[key] = (value, time.monotonic() + min(seconds, LOCAL_SECONDS))

    async def _run(self, request):
        return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, _translated(request))


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
