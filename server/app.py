"""The Tornado application, assembled in ordered init steps."""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

import redis.asyncio as aioredis
import tornado.web

from handlers.base import BoundedBody, NotFoundHandler, client_address
from server import metrics
from server.config import Settings
from server.db import Database
from server.logs import new_request_id, request_id_var
from server.vault import Vault

ROOT = Path(__file__).resolve().parent.parent
# Each module exports `routes`; order matters only where patterns overlap.
HANDLER_MODULES = [
    "handlers.health",
    "handlers.meta",
    "handlers.auth",
    "handlers.roster",
    "handlers.settings",
    "handlers.records",
    "handlers.employers",
    "handlers.warnings",
    "handlers.reports",
    "handlers.registrations",
    "handlers.admin",
    "handlers.console",
    "wechat.callback",
    "wechat.oauth",
    "wechat.binding",
    "wechat.jssdk",
    "handlers.pages",
    "handlers.deliveries",
    "handlers.uploads",
    "handlers.agreements",
    "handlers.employer_link",
    "handlers.employer_pages",
]
log = logging.getLogger("wangqian")


def log_request(handler) -> None:
    """Access log without query strings: they may carry ID numbers, phones, codes or link tokens."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    path = handler.request.path
    if path.startswith(("/e/", "/verify/")):  # the path itself is a secret token
        path = path[:path.index("/", 1) + 1] + "…"
    logging.getLogger("tornado.access").log(level, "%d %s %s %.2fms", status, handler.request.method, path,
                                            1000.0 * handler.request.request_time())
    metrics.observe_request(handler)


class RequestIdHeader(tornado.web.OutputTransform):
    """Every answer carries X-Request-ID, the id on the log lines, outbox rows and deliveries it caused."""

    def __init__(self, request):
        self.request_id = getattr(request, "request_id", None)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if self.request_id:
            headers["X-Request-ID"] = self.request_id
        return status_code, headers, chunk


DEMO_HANDLER_MODULES = ["demo.phones"]  # demo and test mode only: production never imports demo/ or emulators/


def collect_routes(app_env: str) -> list[tuple]:
    routes = []
    for name in HANDLER_MODULES + (DEMO_HANDLER_MODULES if app_env in ("demo", "test") else []):
        routes.extend(importlib.import_module(name).routes)
    return routes


class Application(tornado.web.Application):
    def __init__(self, config: Settings):
        self.config = config
        self.db = Database(config)
        self.redis = aioredis.from_url(config.redis_url, decode_responses=True)
        self.vault = Vault(config.data_key, config.data_key_previous)
        self.routes = collect_routes(config.app_env)
        self.trusted_proxies = config.trusted_proxy_networks
        super().__init__(
            self.routes,
            cookie_secret=config.cookie_secret,
            xsrf_cookies=True,
            xsrf_cookie_kwargs={"samesite": "Lax", "secure": config.is_production},
            template_path=str(ROOT / "templates"),
            static_path=str(ROOT / "templates" / "static"),
            default_handler_class=NotFoundHandler,
            log_function=log_request,
            transforms=[RequestIdHeader],
            debug=False,
        )
        metrics.name_routes(self.routes)

    def find_handler(self, request, **kwargs):
        # the first thing Tornado does with a request: its id is set here for everything the request causes
        request.request_id = new_request_id(request.headers.get("X-Request-ID"))
        request_id_var.set(request.request_id)
        return super().find_handler(request, **kwargs)

    def get_handler_delegate(self, request, target_class, target_kwargs=None, path_args=None, path_kwargs=None):
        """Every request: the client's address as TRUSTED_PROXIES allow, then BoundedBody (its handler's
        body_limit holds while the body arrives)."""
        request.remote_ip = client_address(request, self.trusted_proxies)
        return BoundedBody(self, request, target_class, target_kwargs, path_args, path_kwargs)

    async def start(self) -> None:
        """Connects to MySQL and checks Redis answers: an unreachable one fails here, with nothing left open."""
        await self.db.connect()
        try:
            await self.redis.ping()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.db.close()
        await self.redis.aclose()
