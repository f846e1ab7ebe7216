"""Health, OpenAPI, error shape and bad input at the HTTP edge."""
from __future__ import annotations

import re

import pytest

from handlers.openapi import build_document, documented_routes, openapi_path, parameter_names


@pytest.mark.gen_test
async def test_healthz_reports_mysql_and_redis_ok(client):
    # no worker runs here, so the answer is 503; tests/test_operations.py has the worker and outbox checks
    resp = await client().get("/healthz")
    assert resp.json["checks"]["mysql"] == "ok" and resp.json["checks"]["redis"] == "ok"


@pytest.mark.gen_test
async def test_healthz_answers_503_when_redis_is_down(app, client):
    import redis.asyncio as aioredis
    app.redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    resp = await client().get("/healthz")
    assert resp.status == 503
    assert resp.json["checks"]["mysql"] == "ok"
    assert resp.json["checks"]["redis"].startswith("down")


@pytest.mark.gen_test
async def test_openapi_documents_every_json_route(app, client):
    resp = await client().get("/api/openapi.json")
    assert resp.status == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.1")
    for pattern, handler in documented_routes(app.routes):
        path, _ = openapi_path(pattern, parameter_names(handler))
        assert path in doc["paths"], f"{pattern} missing from the OpenAPI document"
        for method in ("get", "post", "put", "patch", "delete"):
            if method in handler.__dict__:
                assert method in doc["paths"][path], f"{method.upper()} {pattern} not documented"
                assert doc["paths"][path][method]["x-permission"]


def test_openapi_path_converts_groups():
    assert openapi_path(r"/api/records/(\d+)/actions/([a-z_]+)")[0] == "/api/records/{p1}/actions/{p2}"


def test_every_route_method_declares_authorisation(app):
    for pattern, handler, *_ in app.routes:
        for method in ("get", "post", "put", "patch", "delete"):
            fn = handler.__dict__.get(method)
            if fn is not None and pattern.startswith("/api/"):
                assert hasattr(fn, "permission"), f"{method.upper()} {pattern} has no @authorize"


def test_error_codes_have_chinese_messages():
    from handlers.errors import ERRORS
    for code, (status, message) in ERRORS.items():
        assert re.match(r"^[a-z_0-9]+$", code)
        assert 400 <= status < 600
        assert re.search(r"[\u4e00-\u9fff]", message), code


def test_openapi_document_builds_without_app(app):
    assert build_document(app.routes)["paths"]


@pytest.mark.gen_test
async def test_unknown_route_answers_json_404(client):
    resp = await client().get("/api/no-such-thing")
    assert resp.status == 404
    assert resp.error == "not_found" and resp.json["error"]["message"]


@pytest.mark.gen_test
async def test_malformed_json_is_400_bad_json(client):
    resp = await client().request("POST", "/api/login", body=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.error == "bad_json"


@pytest.mark.gen_test
async def test_json_array_body_is_400(client):
    resp = await client().request("POST", "/api/login", body=b"[1,2]")
    assert resp.status == 400 and resp.error == "bad_json"


@pytest.mark.gen_test
async def test_unknown_field_is_refused(client):
    resp = await client().post("/api/login", {"username": "a", "password": "b", "admin": True})
    assert resp.status == 400 and resp.error == "invalid_input"
    assert any(d["field"] == "admin" for d in resp.json["error"]["details"])


@pytest.mark.gen_test
async def test_wrong_type_is_refused(client):
    resp = await client().post("/api/login", {"username": 12345, "password": "b"})
    assert resp.status == 400 and resp.error == "invalid_input"


@pytest.mark.gen_test
async def test_oversize_json_body_is_413(client):
    resp = await client().post("/api/login", {"username": "x" * 70000, "password": "b"})
    assert resp.status == 413 and resp.error == "body_too_large"


@pytest.mark.gen_test
async def test_post_without_xsrf_token_is_refused(client):
    resp = await client().request("POST", "/api/login", json_body={"username": "a", "password": "b"}, xsrf=False)
    assert resp.status == 403 and resp.error == "xsrf_failed"


@pytest.mark.gen_test
async def test_wrong_method_is_405_json(client):
    resp = await client().request("DELETE", "/api/me")
    assert resp.status == 405 and resp.error == "method_not_allowed"


@pytest.mark.gen_test
async def test_access_log_never_shows_query_strings(world, client, caplog):
    import logging
    school = await world.school()
    [g] = await world.graduates(school, login=False)
    c = client()
    await c.login(await world.user("school", school_id=school["id"]))
    with caplog.at_level(logging.INFO, logger="tornado.access"):
        await c.get(f"/api/school/graduates?id_number={g['id_number']}")
        await c.get("/e/some-secret-token")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "/api/school/graduates" in logged and g["id_number"] not in logged and "some-secret-token" not in logged


def test_json_log_lines_keep_chinese_the_request_id_and_the_exception():
    """A log line is one JSON object: Chinese as is (not \\u escapes), the request id of the request, the traceback."""
    import json
    import logging

    from server.logs import JsonFormatter, request_id_var

    try:
        raise ValueError("坏")
    except ValueError:
        import sys
        record = logging.LogRecord("wangqian", logging.WARNING, __file__, 1, "毕业生 %s", ("张三",), sys.exc_info())
    token = request_id_var.set("req-12345678")
    try:
        record.request_id = request_id_var.get()
        text = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(text)
    assert "张三" in text and "\n" not in text
    assert line["message"] == "毕业生 张三" and line["level"] == "WARNING" and line["logger"] == "wangqian"
    assert line["request_id"] == "req-12345678" and "ValueError: 坏" in line["exception"]
    assert line["time"].endswith("+00:00") and "." in line["time"]
