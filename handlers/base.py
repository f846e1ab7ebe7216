"""BaseHandler: loads the acting user, parses JSON bodies, renders every error as one JSON shape."""
from __future__ import annotations

import functools
import ipaddress
import json
import logging
from datetime import date, datetime
from decimal import Decimal

import orjson
import redis.exceptions
import tornado.web
from pydantic import BaseModel, ValidationError

from handlers.errors import status_and_message
from signing import accounts, policy
from signing.errors import DomainError
from signing.records_query import record_detail
from signing.records_service import ActionInput

log = logging.getLogger("wangqian.http")
SESSION_COOKIE = "session"
MAX_JSON_BYTES = 64 * 1024


def json_default(value):
    if isinstance(value, datetime):
        return value.isoformat(" ", "seconds")[:19]  # 2026-06-30 08:00:00 (strftime is several times slower)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return None  # ciphertext never leaves the server
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


# orjson writes UTF-8 in C, several times faster than json.dumps for a page of records; dates and times go
# through json_default (our format), and integer keys become strings as json.dumps makes them.
DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps(data) -> bytes:
    return orjson.dumps(data, default=json_default, option=DUMPS_OPTIONS)


def authorize(permission: str | None):
    """Declares who may call a handler method: a name in signing/policy.py, or None for anyone."""
    if permission is not None and permission not in policy.POLICY:
        raise ValueError(f"unknown permission {permission}")

    def decorate(method):
        @functools.wraps(method)
        async def wrapper(self, *args, **kwargs):
            if permission is not None:
                if self.current_user is None:
                    raise DomainError("not_logged_in")
                policy.require(self.current_user, permission)
            return await method(self, *args, **kwargs)
        wrapper.permission = permission
        return wrapper
    return decorate


def api(summary: str, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
        tag: str = "general", responses: dict | None = None, content_type: str = "application/json",
        response: type[BaseModel] | None = None, produces: str = "application/json"):
    """OpenAPI metadata for a handler method (handlers/openapi.py builds the document from it): `content_type`
    of the request body, `response` the model of the 200 answer and `produces` its media type."""
    def decorate(method):
        method.openapi = {"summary": summary, "body": body, "query": query, "tag": tag,
                          "responses": responses or {}, "content_type": content_type,
                          "response": response, "produces": produces}
        return method
    return decorate


class BaseHandler(tornado.web.RequestHandler):
    body_limit = MAX_JSON_BYTES  # bytes of request body this handler takes (BoundedBody enforces it)

    @property
    def db(self):
        return self.application.db

    @property
    def redis(self):
        return self.application.redis

    @property
    def vault(self):
        return self.application.vault

    @property
    def config(self):
        return self.application.config

    async def prepare(self):
        self.current_user = None
        self.refuse_oversized_body()
        raw = self.get_signed_cookie(SESSION_COOKIE, max_age_days=1)
        if raw:
            try:
                user_id, version, sid = raw.decode().split(":")
                user_id, version = int(user_id), int(version)
            except ValueError:
                return
            self.current_user = await accounts.session_actor(self.db, self.redis, sid, user_id, version,
                                                             self.request.remote_ip)
            if self.current_user is not None:
                self.session_id = sid

    def too_large(self) -> DomainError:
        return DomainError("body_too_large")

    def refuse_oversized_body(self) -> None:
        """BoundedBody (below) marks a request whose body passed body_limit; it is answered 413 at once."""
        if getattr(self.request, "body_refused", False):
            raise self.too_large()

    def _request_summary(self) -> str:
        # error logs name the path, never the query string (it may carry ID numbers, phones, tokens)
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def check_xsrf_cookie(self):
        self.refuse_oversized_body()  # runs before prepare(): an oversized body is a 413, not an xsrf failure
        try:
            super().check_xsrf_cookie()
        except tornado.web.HTTPError as exc:
            raise DomainError("xsrf_failed") from exc

    session_id: str | None = None

    async def start_session(self, user: dict) -> None:
        """A server-side session (signing.accounts.open_session) named by a signed cookie."""
        sid = await accounts.open_session(self.redis, user["id"])
        self.set_signed_cookie(SESSION_COOKIE, f"{user['id']}:{user['session_version']}:{sid}", expires_days=None,
                               httponly=True, samesite="Lax", secure=self.config.is_production)

    async def end_session(self) -> None:
        """Ends the session on the server too: the old cookie no longer works anywhere."""
        if self.session_id and self.current_user is not None:
            await accounts.close_session(self.redis, self.session_id, self.current_user.user_id)
        self.clear_cookie(SESSION_COOKIE)

    def json_body(self, model: type[BaseModel]) -> BaseModel:
        """The request body as the model; unknown fields and wrong types are refused with details."""
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
            raise DomainError("bad_json") from exc
        if not isinstance(data, dict):
            raise DomainError("bad_json", "请求内容应为JSON对象")
        if _has_nul(data):
            raise DomainError("invalid_input", "提交的内容含有不允许的控制字符（NUL）")
        return validate(model, data)

    def query_args(self, model: type[BaseModel]) -> BaseModel:
        data = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        return validate(model, data)

    def write_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(dumps(data))

    def _handle_request_exception(self, e: BaseException) -> None:
        e = unavailable_as_domain_error(e)
        if isinstance(e, DomainError):
            if self._finished:
                return
            status, message = status_and_message(e.code, e.message)
            log.info("%s %s -> %s %s", self.request.method, self.request.path, status, e.code)
            self._write_error_body(status, e.code, message, e.details)
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs) -> None:
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
                500: "internal_error", 503: "service_unavailable"}.get(status_code, "http_error")
        _, message = status_and_message(code)
        self._write_error_body(status_code, code, message, None)

    def _write_error_body(self, status: int, code: str, message: str, details) -> None:
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        error = {"code": code, "message": message}
        if details is not None:
            error["details"] = details
        self.finish(dumps({"error": error}))


def _address(text: str | None):
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _is_trusted(text: str | None, trusted: tuple) -> bool:
    """Whether the peer is one of the proxies: asked of every request, of the same few addresses."""
    address = _address(text)
    return address is not None and any(address in net for net in trusted)


def client_address(request, trusted: tuple) -> str:
    """The client's address. X-Forwarded-For and X-Real-IP are believed only when the peer is one of the
    configured proxies (TRUSTED_PROXIES): then the right-most X-Forwarded-For entry that is not a trusted proxy
    (the one our proxy appended), else X-Real-IP. From anyone else they are ignored, so a new header value does
    not make a new client (it reset the per-address login limit)."""
    if not trusted or not _is_trusted(request.remote_ip, trusted):
        return request.remote_ip
    hops = [_address(h) for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed(hops):
        if hop is None:
            break  # a malformed entry: nothing to its left can be believed
        if not any(hop in net for net in trusted):
            return str(hop)
    real = _address(request.headers.get("X-Real-Ip"))
    return str(real) if real is not None else request.remote_ip


class BoundedBody(tornado.web._HandlerDelegate):
    """The one body-size limit of every route, enforced while the body arrives (Application.get_handler_delegate
    uses it for every request). The handler class's `body_limit` bounds the body, declared (Content-Length) or
    chunked: a declared size over it is refused before a byte of body is read; a body that grows past it is
    dropped at that point. Either way the handler runs at once with `request.body_refused` set and answers 413
    (its `too_large()`), and the connection is closed after the answer, so the rest is never read or held."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = getattr(self.handler_class, "body_limit", MAX_JSON_BYTES)
        self.received = 0
        self.refused = False

    def headers_received(self, start_line, headers):
        try:
            declared = int(headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0  # Tornado's HTTP layer refuses a malformed length itself
        if declared > self.limit:
            return self._refuse()
        return super().headers_received(start_line, headers)

    def data_received(self, data: bytes):
        if self.refused:
            return None
        self.received += len(data)
        if self.received > self.limit:
            return self._refuse()
        return super().data_received(data)

    def finish(self) -> None:
        if not self.refused:
            super().finish()

    def _refuse(self):
        self.refused = True
        self.request.body_refused = True
        self.request.body = b""
        self.chunks = bytearray()
        handler = getattr(self, "handler", None)
        if handler is not None:  # a streaming handler already running: answer now
            if not handler._finished:
                handler._handle_request_exception(handler.too_large())
            return None
        # run the handler now: it answers 413; the connection waits for it and then closes
        self.stream_request_body = True
        return self.execute()


def _has_nul(value) -> bool:
    """A NUL character anywhere in a JSON body (keys included): never stored (databases, CSV and PDFs choke)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def unavailable_as_domain_error(e: BaseException) -> BaseException:
    """Redis not answering (down, refused, timed out) is a 503 with a clear message, as /healthz says, not a 500."""
    if isinstance(e, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        log.error("redis unavailable: %s", e)
        return DomainError("service_unavailable")
    return e


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in err["loc"]), "problem": _problem(err)}
                   for err in exc.errors(include_url=False, include_input=False)]
        raise DomainError("invalid_input", "提交的信息有误：" + "；".join(
            f"{d['field']} {d['problem']}" for d in details[:5]), details) from exc


def _problem(err: dict) -> str:
    kind = err["type"]
    return {"missing": "不能为空", "extra_forbidden": "是未知字段", "string_too_long": "过长",
            "string_too_short": "过短", "literal_error": "取值不在允许范围内",
            "enum": "取值不在允许范围内"}.get(kind, "格式不正确")


class PageHandler(BaseHandler):
    """HTML pages: every refusal and error is a page in the pages' own style, never JSON."""
    message_template = "wechat/message.html"
    confirm_template = "wechat/confirm.html"  # the question asked without JavaScript (asked_first_about)
    error_title = "无法继续"

    def render_message(self, title: str, message: str, status: int = 200, tone: str = "error",
                       link: tuple[str, str] | None = None) -> None:
        self.set_status(status)
        self.render(self.message_template, title=title, message=message, tone=tone, link=link)

    def message_link(self, code: str) -> tuple[str, str] | None:
        """A way on from a refusal (e.g. start again), per error code."""
        return None

    async def asked_first_about(self, record_id: int, action: str, question: str | None, back: str) -> bool:
        """Binding and destructive actions are confirmed: the page's dialog adds `confirmed` to the form. Without
        it (no JavaScript) this answers a page that asks the question and posts the same form again (True then),
        once the record is one the caller sees and the action one they may take now; else the action's own
        refusal follows."""
        if not question or self.get_body_argument("confirmed", ""):
            return False
        record = await record_detail(self.db, self.current_user, record_id)
        if not any(a["action"] == action for a in record["actions"]):
            return False
        fields = [(name, value.decode("utf-8", "replace")) for name, values in self.request.body_arguments.items()
                  if name not in ("_xsrf", "confirmed") for value in values]
        self.render(self.confirm_template, question=question, action=self.request.path, fields=fields, back=back)
        return True

    def action_input(self, **more) -> ActionInput:
        """An action's form as the service takes it: the record version it was shown at, the reason, the
        explanation (trimmed; empty is none), and what else the page adds (uploads, changes)."""
        arg = self.get_body_argument
        version = arg("version", "")
        return ActionInput(version=int(version) if version.isdigit() else None,
                           reason=arg("reason", "").strip() or None,
                           explanation=arg("explanation", "").strip() or None, **more)

    def _handle_request_exception(self, e: BaseException) -> None:
        e = unavailable_as_domain_error(e)
        if isinstance(e, DomainError) and not self._finished:
            status, message = status_and_message(e.code, e.message)
            self.clear()
            self.render_message(self.error_title, message, status, link=self.message_link(e.code))
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs) -> None:
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            status_code, "internal_error" if status_code >= 500 else "http_error")
        self.clear()
        self.render_message(self.error_title, status_and_message(code)[1], status_code)


class NotFoundHandler(BaseHandler):
    async def prepare(self):
        raise DomainError("not_found")
