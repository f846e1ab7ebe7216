"""A small keep-alive HTTP/1.1 load generator: N connections, each sending requests back to back.
Bounded by a request count and a time limit; loopback targets only."""
from __future__ import annotations

import asyncio
import statistics
import time
from urllib.parse import urlparse


async def _connection(host, port, next_request, deadline, latencies, errors, budget):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            start = time.perf_counter()
            writer.write(next_request())
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not status_line.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")):
                errors.append(status_line)
    finally:
        writer.close()


def _post(netloc: str, target: str, body: bytes, headers: dict) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_load(url: str, concurrency: int = 32, requests: int = 4000, seconds: float = 20.0,
                   headers: dict | None = None, posts: list[tuple[str, bytes]] | None = None) -> dict:
    """GET `url` again and again; or, with `posts`, POST each (path?query, body) of the pool once, in turn, to
    url's host (for endpoints that refuse a replay, e.g. signed callbacks: one distinct request per item)."""
    u = urlparse(url)
    assert u.hostname in ("127.0.0.1", "localhost"), "benchmarks target this machine only"
    if posts is not None:
        assert len(posts) >= requests, "the pool needs one request per count"
        pool = iter([_post(u.netloc, target, body, headers or {}) for target, body in posts])
        next_request = pool.__next__
    else:
        lines = [f"GET {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1", f"Host: {u.netloc}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode()

        def next_request() -> bytes:
            return request
    latencies, errors, budget = [], [], [requests]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*[_connection(u.hostname, u.port, next_request, deadline, latencies, errors, budget)
                           for _ in range(concurrency)])
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies), "errors": len(errors), "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
    }


def measure(url: str, warm_up: bool = False, **load) -> dict:
    """run_load from synchronous code; with warm_up, one unmeasured run first (the baseline's JIT-free
    Python still warms its caches and the kernel its sockets)."""
    import asyncio
    if warm_up:
        asyncio.run(run_load(url, **load))
    return asyncio.run(run_load(url, **load))
