"""WeChat callback benchmark: signed subscribe and click events (plaintext mode) POSTed to /wechat/callback at
32 connections, beside a bare Tornado hello-world in the same run. Each request is distinct (its own nonce,
openid and CreateTime): a replay is answered "success" without work, which would flatter the figures.

    .venv/bin/python -m bench.bench_callback [--requests 4000]
"""
from __future__ import annotations

import argparse
import hashlib
import time
import uuid
from urllib.parse import urlencode

from bench.common import bare_tornado, bench_env, drop_database, row, run, service
from bench.loadgen import measure
from server.config import Settings

XML = {"Content-Type": "text/xml"}


def signed_pool(token: str, event: str, n: int) -> list[tuple[str, bytes]]:
    """n callback requests, each with a fresh nonce, openid and CreateTime, signed with the account token."""
    pool, now = [], int(time.time())
    for i in range(n):
        timestamp, nonce, openid = str(now), uuid.uuid4().hex[:16], f"obench{i:08d}{uuid.uuid4().hex[:12]}"
        signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
        key = "<EventKey><![CDATA[HELP]]></EventKey>" if event == "CLICK" else ""
        body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{now - i % 200}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[{event}]]></Event>{key}</xml>")
        query = urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
        pool.append((f"/wechat/callback?{query}", body.encode()))
    return pool


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    env = bench_env()
    token = Settings.from_env(env).wechat_token
    run(["migrate"], env)
    try:
        with bare_tornado() as bare_url, service(env) as base:
            load = dict(concurrency=args.concurrency, requests=args.requests)
            bare = measure(bare_url, warm_up=True, **load)
            measure(base, posts=signed_pool(token, "CLICK", args.requests), headers=XML, **load)
            click = measure(base, posts=signed_pool(token, "CLICK", args.requests), headers=XML, **load)
            subscribe = measure(base, posts=signed_pool(token, "subscribe", args.requests),
                                             headers=XML, **load)
        print(f"WeChat callback benchmark, {args.concurrency} connections, {args.requests} requests each")
        print(row("bare Tornado hello-world (GET)", bare, bare))
        print(row("POST /wechat/callback click (text reply)", click, bare))
        print(row("POST /wechat/callback subscribe (+ DB update)", subscribe, bare))
    finally:
        drop_database(env)


if __name__ == "__main__":
    main()
