"""Operations: /healthz sees a missing worker and a lagging outbox, /metrics counts requests and reads the
outbox, logs carry the request id."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis as syncredis
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import WORKERS_KEY
from server.migrate import apply_migrations, drop_database
from tests.support import running_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(config, io_loop):
    # a worker beats every 2 s; it is missing after 6 s. The outbox may lag 11 days (other tests leave entries)
    yield from running_app(dataclasses.replace(config, health_worker_timeout=6, health_max_outbox_lag=10**6),
                           io_loop)


@pytest.fixture
def no_workers(config):
    r = syncredis.from_url(config.redis_url)
    r.delete(WORKERS_KEY)
    yield r
    r.delete(WORKERS_KEY)


def metrics(body: bytes) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


@pytest.mark.gen_test(timeout=60)
async def test_healthz_is_503_without_a_worker_and_200_while_one_runs(client, config, no_workers):
    resp = await client().get("/healthz")
    assert resp.status == 503 and resp.json["checks"]["worker"].startswith("missing")
    # a real worker, on a database of its own (it must not work on this run's outbox) and this run's Redis
    worker_config = dataclasses.replace(config, database_url=config.database_url + "_worker")
    apply_migrations(worker_config)
    env = dict(os.environ, APP_ENV="test", DATABASE_URL=worker_config.database_url, REDIS_URL=config.redis_url)
    worker = subprocess.Popen([sys.executable, "-m", "server", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(40):
            resp = await client().get("/healthz")
            if resp.status == 200:
                break
            time.sleep(0.5)
        assert resp.status == 200, resp
        assert resp.json["checks"] == {"mysql": "ok", "redis": "ok", "worker": "ok", "outbox": "ok"}
        assert resp.json["workers"] == 1
    finally:
        worker.terminate()
        worker.wait(20)
        drop_database(worker_config)
    stopped = time.monotonic()
    while (resp := await client().get("/healthz")).status == 200 and time.monotonic() - stopped < 15:
        time.sleep(0.5)
    assert resp.status == 503 and resp.json["checks"]["worker"].startswith("missing")
    assert time.monotonic() - stopped < 2  # a clean stop takes the worker off at once (a crash: the timeout)


@pytest.mark.gen_test
async def test_healthz_notices_a_worker_that_stopped_beating_after_the_timeout(client, no_workers):
    no_workers.zadd(WORKERS_KEY, {"crashed-worker": time.time() - 5})  # its last beat, 5 s ago
    assert (await client().get("/healthz")).status == 200
    no_workers.zadd(WORKERS_KEY, {"crashed-worker": time.time() - 7})  # past the 6 s of this module's settings
    resp = await client().get("/healthz")
    assert resp.status == 503 and resp.json["workers"] == 0


@pytest.mark.gen_test
async def test_healthz_is_503_when_due_outbox_entries_wait_too_long(client, sql, no_workers):
    no_workers.zadd(WORKERS_KEY, {"test-worker": time.time()})
    key = f"lag-test-{uuid.uuid4().hex}"
    sql("INSERT INTO outbox (topic, idempotency_key, graduate_id, payload, next_attempt_at)"
        " VALUES ('ems_sync', %s, 0, '{}', NOW(3) - INTERVAL 30 DAY)", (key,))
    try:
        resp = await client().get("/healthz")
        assert resp.status == 503 and resp.json["checks"]["outbox"].startswith("lagging")
        assert resp.json["checks"]["worker"] == "ok"
        assert resp.json["outbox"]["ems_sync"]["lag_seconds"] >= 30 * 86400
    finally:
        sql("DELETE FROM outbox WHERE idempotency_key=%s", (key,))
    resp = await client().get("/healthz")
    assert resp.status == 200, resp


@pytest.mark.gen_test
async def test_metrics_count_requests_by_route_and_status_and_read_the_outbox(client, sql):
    before = metrics((await client().get("/metrics")).body)
    route = ("wangqian_http_requests_total", (("method", "GET"), ("route", "/api/records/(\\d+)"), ("status", "401")))
    for _ in range(3):
        assert (await client().get("/api/records/1")).status == 401
    key = f"metrics-test-{uuid.uuid4().hex}"
    sql("INSERT INTO outbox (topic, idempotency_key, graduate_id, payload, created_at)"
        " VALUES ('ems_sync', %s, 0, '{}', NOW(3) - INTERVAL 1 HOUR)", (key,))
    try:
        resp = await client().get("/metrics")
    finally:
        sql("DELETE FROM outbox WHERE idempotency_key=%s", (key,))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    after = metrics(resp.body)
    assert after[route] - before.get(route, 0) == 3
    latency = ("wangqian_http_request_seconds_count", (("method", "GET"), ("route", "/api/records/(\\d+)")))
    assert after[latency] - before.get(latency, 0) == 3
    assert after[("wangqian_outbox_depth", (("topic", "ems_sync"),))] >= 1
    assert after[("wangqian_ems_sync_lag_seconds", ())] >= 3600
    assert ("wangqian_workers_alive", ()) in after


@pytest.mark.gen_test
async def test_answers_carry_the_proxys_request_id_or_a_fresh_one(client):
    resp = await client().get("/api/me", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert resp.headers["X-Request-ID"] == "nginx-0123456789abcdef"
    resp = await client().get("/api/me", headers={"X-Request-ID": "bad id with spaces"})
    assert resp.headers["X-Request-ID"] != "bad id with spaces" and len(resp.headers["X-Request-ID"]) == 32
