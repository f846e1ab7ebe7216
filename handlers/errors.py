"""The HTTP side of the error catalog (signing/errors.py): the status of each kind of failure, and the codes
only the HTTP layer raises."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from signing.errors import CATALOG, Kind, define, kind_and_message

STATUS: dict[Kind, int] = {
    Kind.INVALID: 400, Kind.UNAUTHENTICATED: 401, Kind.FORBIDDEN: 403, Kind.NOT_FOUND: 404, Kind.METHOD: 405,
    Kind.CONFLICT: 409, Kind.GONE: 410, Kind.TOO_LARGE: 413, Kind.UNSUPPORTED_TYPE: 415, Kind.UNPROCESSABLE: 422,
    Kind.TOO_MANY: 429, Kind.INTERNAL: 500, Kind.UNAVAILABLE: 503,
}

define({
    "bad_json": (Kind.INVALID, "请求内容不是有效的JSON"),
    "body_too_large": (Kind.TOO_LARGE, "提交的内容过大"),
    "xsrf_failed": (Kind.FORBIDDEN, "页面已过期，请刷新后重试"),
    "method_not_allowed": (Kind.METHOD, "不支持此操作"),
})


def status_and_message(code: str, message: str | None = None) -> tuple[int, str]:
    kind, text = kind_and_message(code, message)
    return STATUS[kind], text


class _Statuses(Mapping):
    """Every code with its status and message, as the API answers them (a view of the catalog)."""

    def __getitem__(self, code: str) -> tuple[int, str]:
        kind, message = CATALOG[code]
        return STATUS[kind], message

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOG)

    def __len__(self) -> int:
        return len(CATALOG)


ERRORS = _Statuses()
