"""Hardening: the findings of the security review (issue 9), each with its regression test over real HTTP."""
from __future__ import annotations

import json

import pytest

from tests.test_uploads import chunked, raw_post

MiB = 1024 * 1024


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


async def _send_large(port: int, path: str, total: int, declared: bool) -> bytes:
    headers = {"Content-Type": "application/json", "X-XSRFToken": "x", "Cookie": "_xsrf=x"}
    headers.update({"Content-Length": str(total)} if declared else {"Transfer-Encoding": "chunked"})
    if declared:
        piece = b"{" + b" " * (MiB - 1)
        body = (piece for _ in range(total // MiB))
    else:
        body = chunked(total, MiB)
    answer, _ = await raw_post(port, path, headers, body)
    return answer


@pytest.mark.gen_test(timeout=120)
async def test_large_json_bodies_are_refused_without_holding_them(http_server, http_port):
    """Six anonymous 60 MB bodies (declared and chunked) to /api/login: each a 413, peak memory barely moves."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets the peak (VmHWM) to the current RSS
    before = _rss_kib("VmRSS")
    for declared in (True, False, True, False, True, False):
        answer = await _send_large(http_port, "/api/login", 60 * MiB, declared)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert json.loads(body)["error"]["code"] == "body_too_large"
    growth_mib = (_rss_kib("VmHWM") - before) / 1024
    assert growth_mib < 30, f"peak RSS grew {growth_mib:.0f} MiB"


@pytest.mark.gen_test
async def test_chunked_json_body_over_the_limit_is_refused(http_server, http_port):
    """A chunked body has no Content-Length: it is counted as it arrives (a 1 MB chunked draft was stored,
    a 40 MB one gave a 500)."""
    for total in (MiB, 40 * MiB):
        answer = await _send_large(http_port, "/api/login", total, declared=False)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert json.loads(body)["error"]["code"] == "body_too_large"


@pytest.mark.gen_test
async def test_small_chunked_json_body_is_read(world, client, http_port):
    school = await world.school()
    username = await world.user("school", school_id=school["id"])
    body = json.dumps({"username": username, "password": "wrong-pass1"}).encode()
    answer, _ = await raw_post(http_port, "/api/login", {
        "Content-Type": "application/json", "X-XSRFToken": "x", "Cookie": "_xsrf=x",
        "Transfer-Encoding": "chunked", "Connection": "close"}, [f"{len(body):x}\r\n".encode() + body + b"\r\n", b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
