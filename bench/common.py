"""Shared benchmark plumbing: a throwaway database, the service and a bare Tornado app as subprocesses."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

BARE_APP = """
import asyncio, sys, tornado.web
class Hello(tornado.web.RequestHandler):
    def get(self):
        self.write({"status": "ok"})
    def post(self):  # a body received as Tornado does by default, in memory (bench_uploads)
        self.set_status(201)
        self.write({"bytes": len(self.request.body)})
    def check_xsrf_cookie(self):
        pass
async def main():
    tornado.web.Application([(r"/", Hello)]).listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, timeout: float = 120) -> None:  # a loaded machine starts a server slowly
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def bench_env(**extra) -> dict:
    base = os.environ.get("DATABASE_URL", "mysql://root:@127.0.0.1:3306/wangqian").rsplit("/", 1)[0]
    # Redis: only the database of REDIS_URL (the service's default, db 0, when unset): say which one is written
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = dict(os.environ, APP_ENV="test", DATABASE_URL=f"{base}/wangqian_bench_{uuid.uuid4().hex[:8]}",
               REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    env.update(extra)
    print(f"bench: Redis database {redis_url.rsplit('/', 1)[-1] or 0} of {redis_url.rsplit('/', 1)[0]}"
          " (REDIS_URL); a throwaway MariaDB database", file=sys.stderr)
    return env


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL after a minute: a loaded machine must not lose the figures at the end of a run."""
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def service(env: dict):
    with service_process(env) as (base, _):
        yield base


@contextlib.contextmanager
def service_process(env: dict):
    """`serve` (one process); yields (its base URL, its pid)."""
    port = free_port()
    env = dict(env, PORT=str(port), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([PY, "-m", "server", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(port)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        stop(proc)


@contextlib.contextmanager
def services(env: dict, drivers: list[str]):
    """One server per database driver (DB_DRIVER) on the same database and Redis, so that a bench measures them
    in turn in one run; a session cookie is good for all of them."""
    with contextlib.ExitStack() as stack:
        yield {d: stack.enter_context(service(dict(env, DB_DRIVER=d))) for d in drivers}


def drivers_argument(parser) -> None:
    parser.add_argument("--drivers", default="aiomysql,asyncmy",
                        help="the DB_DRIVER of each server, measured in turn in the same run (server/db.py)")


def driver_ratios(results: dict[str, dict], drivers: list[str]) -> str:
    """req/s of each driver over the first's (the default, aiomysql)."""
    first = results[drivers[0]]["rps"]
    return "  ".join(f"{d}/{drivers[0]} {results[d]['rps'] / first:.2f}×" for d in drivers[1:])


@contextlib.contextmanager
def bare_tornado():
    with bare_tornado_process() as (url, _):
        yield url


@contextlib.contextmanager
def bare_tornado_process():
    """The bare app; yields (its URL, its pid)."""
    port = free_port()
    proc = subprocess.Popen([PY, "-c", BARE_APP, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(port)
        yield f"http://127.0.0.1:{port}/", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def main_thread_cpu(pid: int) -> float:
    """Seconds of CPU the process's main thread (its event loop) has used: /proc, user + system."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(cmd: list[str], env: dict) -> str:
    return subprocess.run([PY, "-m", "server", *cmd], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def drop_database(env: dict) -> None:
    from server.config import Settings
    from server.migrate import drop_database as drop
    drop(Settings.from_env(env))


def row(name: str, result: dict, bare: dict) -> str:
    return (f"{name:<44} {result['rps']:>9.0f} req/s  p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms"
            f"  errors {result['errors']:<3}  rps ratio to bare {result['rps'] / bare['rps']:.2f}"
            f"  p99 ratio {result['p99_ms'] / bare['p99_ms']:.2f}")


CANNED_APP = """
import asyncio, sys, tornado.web
body = open(sys.argv[2], "rb").read()
class Canned(tornado.web.RequestHandler):
    async def get(self):
        self.set_header("Content-Type", sys.argv[3])
        if "json" in sys.argv[3]:  # a page: one answer with its length
            return self.finish(body)
        for i in range(0, len(body), 262144):  # an export: streamed as the export is
            self.write(body[i:i + 262144])
            await self.flush()
async def main():
    tornado.web.Application([(r"/", Canned)]).listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()
asyncio.run(main())
"""


@contextlib.contextmanager
def process(args: list[str], env: dict | None = None):
    port = free_port()
    proc = subprocess.Popen([PY, *[a.replace("{port}", str(port)) for a in args]], cwd=ROOT,
                            env=None if env is None else dict(env, PORT=str(port)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(port)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def canned(body: bytes, media_type: str = "application/json; charset=UTF-8"):
    """The baseline: a bare Tornado app answering these very bytes."""
    with tempfile.NamedTemporaryFile(suffix=".body") as f:
        f.write(body)
        f.flush()
        with process(["-c", CANNED_APP, "{port}", f.name, media_type]) as (url, _):
            yield url + "/"


def fetch(url: str, cookie: str) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie}), timeout=600) as resp:
        return resp.read()
