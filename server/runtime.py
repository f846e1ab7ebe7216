"""Process entry points: the HTTP server, the worker, and file commands."""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import tornado.httpserver
from tornado.netutil import bind_sockets

from server import metrics
from server.app import Application
from server.config import Settings
from server.jobs import JobRunner

log = logging.getLogger("wangqian")


def background_jobs(app: Application) -> list:
    """Every named background job; features add theirs in server/workers.py."""
    from server.workers import jobs_for
    return jobs_for(app)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(config: Settings) -> None:
    sockets = bind_sockets(config.port, address=config.bind_host)  # a port in use fails here, before anything starts
    app = Application(config)
    await app.start()
    # xheaders stays off: X-Forwarded-For / X-Real-IP are believed only from TRUSTED_PROXIES (handlers.base.client_address)
    server = tornado.httpserver.HTTPServer(app, max_body_size=64 * 1024 * 1024)
    server.add_sockets(sockets)
    extras = []
    if config.app_env == "demo":
        from emulators.launcher import start_emulators
        try:
            extras = await start_emulators(config)
        except BaseException:  # an emulator's port in use: close the pool before the one-line error
            server.stop()
            await app.stop()
            raise
        runner = JobRunner(background_jobs(app))
        runner.start()
    print(f"service listening on {config.public_base_url}  (APP_ENV={config.app_env})", flush=True)
    for line in getattr(app, "banner", []):
        print(line, flush=True)
    await _until_signalled()
    server.stop()
    if config.app_env == "demo":
        await runner.stop()
        for s in extras:
            s.stop()
    await app.stop()


async def work(config: Settings) -> None:
    app = Application(config)
    await app.start()
    runner = JobRunner(background_jobs(app))
    runner.start()
    log.info("worker running %s", ", ".join(j.name for j in runner.jobs) or "no jobs")
    await _until_signalled()
    await runner.stop()
    await metrics.forget(app.redis, metrics.worker_name())  # a clean stop shows in /healthz at once
    await app.stop()


async def import_roster_file(config: Settings, path: str) -> int:
    from signing.actors import SYSTEM
    from signing.errors import DomainError, kind_and_message
    from signing.roster_service import import_roster

    app = Application(config)
    await app.start()
    try:
        content = Path(path).read_bytes()
        result = await import_roster(app.db, app.vault, SYSTEM, Path(path).name, content)
        print("imported: " + ", ".join(f"{k}={v}" for k, v in result.as_dict().items()))
        return 0
    except DomainError as exc:
        _, message = kind_and_message(exc.code, exc.message)
        print(f"refused ({exc.code}): {message}")
        for row in (exc.details or []) if isinstance(exc.details, list) else []:
            print(f"  line {row['line']}: {'；'.join(row['reasons'])}")
        return 1
    finally:
        await app.stop()


async def revoke_sessions(config: Settings, username: str) -> int:
    from signing.accounts import revoke_sessions as revoke

    app = Application(config)
    await app.start()
    try:
        if not await revoke(app.db, app.redis, username):
            print(f"no account {username}")
            return 1
        print(f"every session of {username} ended")
        return 0
    finally:
        await app.stop()
