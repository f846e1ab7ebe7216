"""Process entry points: the HTTP server, the worker, and file commands."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from pathlib import Path

import tornado.httpserver
import uvloop
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


def run_loop(main) -> None:
    """The long-running processes (serve, worker) run on uvloop: its event loop and transports are written in C,
    so the Redis and MySQL clients' reads and writes and Tornado's own loop cost less CPU per request."""
    return uvloop.run(main)


def serve_processes(config: Settings, processes: int) -> None:
    """`serve --processes N`: the port is bound once here, then N children each run the whole server on it (the
    kernel hands each new connection to one of them). Nothing is shared but the sockets: every child has its own
    pools, and everything that must be counted or locked already goes through MariaDB or Redis. The parent only
    forwards SIGTERM/SIGINT and restarts a child that died of anything else."""
    sockets = bind_sockets(config.port, address=config.bind_host)  # a port in use fails here, before any fork
    if processes <= 1:
        run_loop(serve(config, sockets))
        return
    children: dict[int, int] = {}  # pid -> child number (0 runs the demo's emulators and jobs)
    stopping = False

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child: default signal handling again, then the server
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                run_loop(serve(config, sockets, first=number == 0))
            except BaseException:
                log.exception("serve process %s failed", number)
                code = 1
            os._exit(code)
        children[pid] = number

    def forward(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for number in range(processes):
        start(number)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        number = children.pop(pid, None)
        if number is not None and not stopping and os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM):
            log.warning("serve process %s (pid %s) exited with %s; starting it again", number, pid, status)
            time.sleep(0.5)  # a child that fails at once must not spin
            start(number)


async def serve(config: Settings, sockets=None, first: bool = True) -> None:
    """One server process on `sockets` (bound here when not given). `first`: the process that, in demo mode, also
    runs the emulators and the background jobs."""
    sockets = sockets or bind_sockets(config.port, address=config.bind_host)  # a port in use fails before anything
    app = Application(config)
    await app.start()
    # xheaders stays off: X-Forwarded-For / X-Real-IP are believed only from TRUSTED_PROXIES (handlers.base.client_address)
    # chunk_size: a streamed upload reaches its handler 256 KB at a time, a quarter of the calls of Tornado's 64 KB
    server = tornado.httpserver.HTTPServer(app, max_body_size=64 * 1024 * 1024, chunk_size=256 * 1024)
    server.add_sockets(sockets)
    extras = []
    demo_extras = config.app_env == "demo" and first
    if demo_extras:
        from emulators.launcher import start_emulators
        try:
            extras = await start_emulators(config)
        except BaseException:  # an emulator's port in use: close the pool before the one-line error
            server.stop()
            await app.stop()
            raise
        runner = JobRunner(background_jobs(app))
        runner.start()
    if first:
        print(f"service listening on {config.public_base_url}  (APP_ENV={config.app_env})", flush=True)
        for line in getattr(app, "banner", []):
            print(line, flush=True)
    await _until_signalled()
    server.stop()
    if demo_extras:
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
