"""Logging set up in one place: LOG_LEVEL, JSON lines (or text in demo mode), and the request id of the
request being handled on every line it causes (also written on the outbox rows and deliveries it creates)."""
from __future__ import annotations

import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # what we accept from a proxy's X-Request-ID


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id(offered: str | None = None) -> str:
    """The proxy's id when it looks like one (so nginx and our lines share it), else a fresh one."""
    return offered if offered and _GOOD_ID.match(offered) else os.urandom(16).hex()  # as random as a uuid4


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if getattr(record, "request_id", "-") != "-":
            line["request_id"] = record.request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()  # an access line per request: several times json.dumps's speed


def setup_logging(config) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if config.logs_as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level.upper())
    if config.log_level.upper() != "DEBUG":
        logging.getLogger("yoyo").setLevel(logging.WARNING)  # a line per migration step is noise
        # three lines per uploaded file, and a client's malformed body (answered upload_form_invalid) as a warning
        logging.getLogger("python_multipart").setLevel(logging.ERROR)
