"""Prometheus metrics (prometheus_client), served as text by GET /metrics (handlers/health.py).

Two sources: what this process counts (requests by route and status, their latency), and what the database
and Redis say at scrape time, the same whichever process answers (outbox depth and lag per topic, the EMS sync
lag, deliveries by channel and outcome, live workers). With several `serve` processes set
PROMETHEUS_MULTIPROC_DIR to one empty directory per host (deploy/): every process then writes its counts
there and any of them answers with the sum."""
from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("wangqian_http_requests", "HTTP requests answered, by route and status",
                   ["method", "route", "status"])
LATENCY = Histogram("wangqian_http_request_seconds", "HTTP request latency by route", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
_route_of: dict[type, str] = {}

WORKERS_KEY = "workers:heartbeat"  # a sorted set: worker name -> unix time of its last beat


def name_routes(routes) -> None:
    """Requests are labelled by their route pattern (a bounded set), never by the raw path."""
    for pattern, handler, *_ in routes:
        _route_of.setdefault(handler, pattern)


def observe_request(handler) -> None:
    route = _route_of.get(type(handler), "unmatched")
    method = handler.request.method
    REQUESTS.labels(method, route, str(handler.get_status())).inc()
    LATENCY.labels(method, route).observe(handler.request.request_time())


# -- the worker's heartbeat -------------------------------------------------------------------------------

def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


async def beat(redis, name: str) -> None:
    """A worker says it is alive (the `heartbeat` job, every few seconds); stale names are dropped."""
    now = time.time()
    await redis.zadd(WORKERS_KEY, {name: now})
    await redis.zremrangebyscore(WORKERS_KEY, "-inf", now - 3600)


async def forget(redis, name: str) -> None:
    await redis.zrem(WORKERS_KEY, name)


async def live_workers(redis, within_seconds: float) -> list[str]:
    return list(await redis.zrangebyscore(WORKERS_KEY, time.time() - within_seconds, "+inf"))


# -- what the database says ---------------------------------------------------------------------------------

OUTBOX_STATE = (
    "SELECT topic, COUNT(*) AS depth,"
    " COALESCE(MAX(GREATEST(TIMESTAMPDIFF(MICROSECOND, next_attempt_at, NOW(3)), 0)), 0) / 1e6 AS due_lag,"
    " COALESCE(MAX(TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3))), 0) / 1e6 AS oldest"
    " FROM outbox WHERE status='pending' GROUP BY topic"
)


async def outbox_state(db) -> dict[str, dict]:
    """Per topic: pending entries, how long the most overdue one has waited for a worker past its due time
    (lag: grows only when no worker takes due work), and the age of the oldest pending one (for EMS: sync lag,
    which also grows while EMS itself is down)."""
    return {r["topic"]: {"depth": int(r["depth"]), "lag": float(r["due_lag"]), "oldest": float(r["oldest"])}
            for r in await db.fetchall(OUTBOX_STATE)}


async def render(app) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(_Snapshot(await _snapshot(app)))
    return generate_latest(registry)


async def _snapshot(app) -> list[GaugeMetricFamily]:
    outbox = await outbox_state(app.db)
    depth = GaugeMetricFamily("wangqian_outbox_depth", "pending outbox entries", labels=["topic"])
    lag = GaugeMetricFamily("wangqian_outbox_lag_seconds", "how long the most overdue pending entry has waited"
                            " past its due time for a worker", labels=["topic"])
    oldest = GaugeMetricFamily("wangqian_outbox_oldest_pending_seconds", "age of the oldest pending entry",
                               labels=["topic"])
    for topic in ("notify", "ems_sync", "document"):
        state = outbox.get(topic, {"depth": 0, "lag": 0.0, "oldest": 0.0})
        depth.add_metric([topic], state["depth"])
        lag.add_metric([topic], state["lag"])
        oldest.add_metric([topic], state["oldest"])
    ems = GaugeMetricFamily("wangqian_ems_sync_lag_seconds", "age of the oldest destination not yet accepted by EMS")
    ems.add_metric([], outbox.get("ems_sync", {"oldest": 0.0})["oldest"])
    deliveries = GaugeMetricFamily("wangqian_deliveries", "notification deliveries by channel and outcome",
                                   labels=["channel", "status"])
    for row in await app.db.fetchall("SELECT channel, status, COUNT(*) AS n FROM deliveries GROUP BY channel, status"):
        deliveries.add_metric([row["channel"], row["status"]], int(row["n"]))
    workers = GaugeMetricFamily("wangqian_workers_alive", "workers whose heartbeat is recent")
    workers.add_metric([], len(await live_workers(app.redis, app.config.health_worker_timeout)))
    return [depth, lag, oldest, ems, deliveries, workers]


class _Snapshot:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families
