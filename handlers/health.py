from __future__ import annotations

import asyncio
from typing import Literal

from handlers.base import BaseHandler, api, authorize
from handlers.models import Answer
from server import metrics


class OutboxTopic(Answer):
    pending: int
    lag_seconds: float


class HealthAnswer(Answer):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    workers: int | None = None
    outbox: dict[str, OutboxTopic] | None = None


class HealthHandler(BaseHandler):
    @authorize(None)
    @api("Health of the service: MySQL, Redis, a live worker and the outbox lag (503 when any is wrong)",
         tag="operations", responses={"503": ("MySQL or Redis unreachable, no worker heartbeat, or outbox lag"
                                              " over HEALTH_MAX_OUTBOX_LAG", HealthAnswer)}, response=HealthAnswer)
    async def get(self):
        checks, details = {}, {}
        for name, probe in (("mysql", self.db.ping), ("redis", self.redis.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=2)
                checks[name] = "ok"
            except Exception as exc:  # any failure of a dependency is reported, never raised
                checks[name] = f"down: {type(exc).__name__}"
        if checks["redis"] == "ok":
            workers = await metrics.live_workers(self.redis, self.config.health_worker_timeout)
            details["workers"] = len(workers)
            checks["worker"] = "ok" if workers else (
                f"missing: no heartbeat in {self.config.health_worker_timeout} s (is `python -m server worker` running?)")
        if checks["mysql"] == "ok":
            outbox = await metrics.outbox_state(self.db)
            details["outbox"] = {topic: {"pending": s["depth"], "lag_seconds": round(s["lag"], 1)}
                                 for topic, s in outbox.items()}
            lag = max((s["lag"] for s in outbox.values()), default=0.0)
            limit = self.config.health_max_outbox_lag
            checks["outbox"] = "ok" if lag <= limit else f"lagging: due entries waiting {lag:.0f} s (limit {limit} s)"
        healthy = all(v == "ok" for v in checks.values())
        self.write_json({"status": "ok" if healthy else "unavailable", "checks": checks, **details},
                        status=200 if healthy else 503)


class MetricsHandler(BaseHandler):
    """Prometheus text format; keep it off the public internet (deploy/nginx.conf answers 404 for it)."""

    @authorize(None)
    async def get(self):
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(await metrics.render(self.application))


routes = [(r"/healthz", HealthHandler), (r"/metrics", MetricsHandler)]
