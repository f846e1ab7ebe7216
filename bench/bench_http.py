"""HTTP benchmark: /healthz and an authenticated JSON read (/api/me) at 32 concurrent connections,
beside a bare Tornado hello-world started in the same run. Prints figures and ratios.

    .venv/bin/python bench/bench_http.py [--requests 4000]
"""
from __future__ import annotations

import argparse
import json
import urllib.request
import uuid

from bench.common import bare_tornado, bench_env, drop_database, row, run, service
from bench.loadgen import measure


def login(base: str, username: str, password: str) -> str:
    token = uuid.uuid4().hex
    req = urllib.request.Request(base + "/api/login", method="POST",
                                 data=json.dumps({"username": username, "password": password}).encode(),
                                 headers={"Content-Type": "application/json", "X-XSRFToken": token,
                                          "Cookie": f"_xsrf={token}"})
    with urllib.request.urlopen(req) as resp:
        cookie = next(c for c in resp.headers.get_all("Set-Cookie") if c.startswith("session="))
    return cookie.split(";", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = bench_env()
    run(["migrate"], env)
    run(["demo"], env)
    try:
        with bare_tornado() as bare_url, service(env) as base:
            cookie = login(base, "school_admin", "demo2026pass")
            load = dict(concurrency=args.concurrency, requests=args.requests)
            measure(bare_url, **load)  # warm-up of both
            measure(base + "/api/me", headers={"Cookie": cookie}, **load)
            runs = {"bare": [], "health": [], "me": []}
            for _ in range(args.rounds):  # interleaved: the machine's noise falls on all three alike
                runs["bare"].append(measure(bare_url, **load))
                runs["health"].append(measure(base + "/healthz", **load))
                runs["me"].append(measure(base + "/api/me", headers={"Cookie": cookie}, **load))
        bare, health, me = (sorted(r, key=lambda x: x["rps"])[len(r) // 2] for r in runs.values())
        print(f"HTTP benchmark, {args.concurrency} connections, {args.requests} requests each, median of"
              f" {args.rounds} interleaved rounds")
        print(row("bare Tornado hello-world", bare, bare))
        # all of /healthz's checks run (MySQL, Redis, the workers' heartbeats, the outbox lag); it answers 503
        # here, as no worker runs beside the bench: the errors column counts those answers
        print(row("GET /healthz (all checks; 503: no worker)", health, bare))
        print(row("GET /api/me (session + account load)", me, bare)
              + f"  target >= 0.45: {'met' if me['rps'] / bare['rps'] >= 0.45 else 'not met'}")
    finally:
        drop_database(env)


if __name__ == "__main__":
    main()
