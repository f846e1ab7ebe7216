"""BaseHandler: loads the acting user, parses JSON bodies, renders every error as one JSON shape."""
from __future__ import annotations

import functools
import json
import logging
from datetime import date, datetime
from decimal import Decimal

import tornado.web
from pydantic import BaseModel, ValidationError

from handlers.errors import status_and_message
from signing import policy
from signing.accounts import load_actor
from signing.errors import DomainError

log = logging.getLogger("wangqian.http")
SESSION_COOKIE = "session"
MAX_JSON_BYTES = 64 * 1024


def json_default(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return None  # ciphertext never leaves the server
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, default=json_default)


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
        length = int(self.request.headers.get("Content-Length") or 0)
        if length > self.max_body_bytes():
            raise DomainError("body_too_large")
        raw = self.get_signed_cookie(SESSION_COOKIE, max_age_days=1)
        if raw:
            try:
                user_id, version = (int(x) for x in raw.decode().split(":"))
            except ValueError:
                return
            self.current_user = await load_actor(self.db, user_id, version, self.request.remote_ip)

    def max_body_bytes(self) -> int:
        return MAX_JSON_BYTES

    def _request_summary(self) -> str:
        # error logs name the path, never the query string (it may carry ID numbers, phones, tokens)
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def check_xsrf_cookie(self):
        try:
            super().check_xsrf_cookie()
        except tornado.web.HTTPError as exc:
            raise DomainError("xsrf_failed") from exc

    def start_session(self, user: dict) -> None:
        self.set_signed_cookie(SESSION_COOKIE, f"{user['id']}:{user['session_version']}", expires_days=None,
                               httponly=True, samesite="Lax", secure=self.config.is_production)

    def end_session(self) -> None:
        self.clear_cookie(SESSION_COOKIE)

    def json_body(self, model: type[BaseModel]) -> BaseModel:
        """The request body as the model; unknown fields and wrong types are refused with details."""
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise DomainError("bad_json") from exc
        if not isinstance(data, dict):
            raise DomainError("bad_json", "请求内容应为JSON对象")
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
    error_title = "无法继续"

    def render_message(self, title: str, message: str, status: int = 200, tone: str = "error",
                       link: tuple[str, str] | None = None) -> None:
        self.set_status(status)
        self.render(self.message_template, title=title, message=message, tone=tone, link=link)

    def message_link(self, code: str) -> tuple[str, str] | None:
        """A way on from a refusal (e.g. start again), per error code."""
        return None

    def _handle_request_exception(self, e: BaseException) -> None:
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
