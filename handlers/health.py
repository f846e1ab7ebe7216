from __future__ import annotations

import asyncio

from handlers.base import BaseHandler, api, authorize


class HealthHandler(BaseHandler):
    @authorize(None)
    @api("Liveness of the service and its MySQL and Redis (503 when either is down)", tag="operations",
         responses={"503": "MySQL or Redis unreachable"})
    async def get(self):
        checks = {}
        for name, probe in (("mysql", self.db.ping), ("redis", self.redis.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=2)
                checks[name] = "ok"
            except Exception as exc:  # any failure of a dependency is reported, never raised
                checks[name] = f"down: {type(exc).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        self.write_json({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status=200 if healthy else 503)


routes = [(r"/healthz", HealthHandler)]
