"""Notification delivery benchmark: notifications delivered per second to the WeChat and SMS emulators (run
in their own process), and the outbox lag (outbox row written -> its last delivery sent), p50 and p99.

Two phases of --notifications each (a quarter are record edits: WeChat + SMS; the rest WeChat only):
  backlog  all rows written first, then one worker drains them: throughput
  steady   rows written at --rate per second while the worker runs with the production job interval: lag
The baseline, run before and after the backlog: the bare SDK, i.e. WeChat template sends of the same messages
through our WeChat client (wechatpy) to the same emulator at the same concurrency, with no outbox, database or
SMS: what this machine allows a worker at most, so that the backlog's figure reads across machines.

    .venv/bin/python -m bench.bench_notify [--notifications 2000] [--rate 50]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import time
import urllib.request

from bench.common import PY, ROOT, bench_env, drop_database, free_port, run, wait_http
from demo.sample_data import make_phone, roster_csv, roster_row
from notify.delivery import Notifier, wechat_api_of
from notify.templates import wechat_message
from server.app import Application
from server.config import Settings
from server.jobs import Job, JobRunner
from signing.actors import SYSTEM
from signing.roster_service import import_roster

SCHOOL = "99001"
EMULATORS = """
import asyncio, sys
from emulators.aliyun_sms import make_emulator_app as sms
from emulators.wechat import make_emulator_app as wechat
async def main():
    wechat({sys.argv[3]: sys.argv[4]}).listen(int(sys.argv[1]), address="127.0.0.1")
    sms({sys.argv[5]: sys.argv[6]}, site="http://127.0.0.1:8000").listen(int(sys.argv[2]), address="127.0.0.1")
    await asyncio.Event().wait()
asyncio.run(main())
"""
TEMPLATES = [  # (template, action, action_text, sms)
    ("record_edited", "edit_after_approval", "学校修改签约信息", True),
    ("invitation", "invite", "单位发起签约邀请", False),
    ("audit_result", "pass", "审核通过", False),
    ("invitation", "invite", "单位发起签约邀请", False),
]


async def seed(app, graduates: int, wechat_base: str) -> list[int]:
    """A school with `graduates` graduates, each with an account bound to a subscribed WeChat user."""
    async with app.db.transaction() as cur:
        await cur.execute("INSERT INTO provinces (code, name) VALUES ('98', '基准省')")
        await cur.execute("INSERT INTO schools (code, name, province_code) VALUES (%s, '基准大学', '98')", (SCHOOL,))
    rows = [roster_row(seq, SCHOOL, 2026) for seq in range(1, graduates + 1)]
    await import_roster(app.db, app.vault, SYSTEM, "bench.csv", roster_csv(rows))
    ids = [r["id"] for r in await app.db.fetchall("SELECT id FROM graduates ORDER BY id")]
    async with app.db.transaction() as cur:
        await cur.executemany(
            "INSERT INTO users (username, role, display_name, graduate_id, phone_hash, phone_cipher, phone_masked,"
            " wechat_openid, wechat_subscribed) VALUES (%s, 'graduate', '毕业生', %s, %s, %s, %s, %s, 1)",
            [(f"bench{gid}", gid, app.vault.blind_index(make_phone(gid)), app.vault.encrypt(make_phone(gid)),
              "139****0000", f"obench{gid:020d}") for gid in ids])
    for gid in ids:  # WeChat knows them as followers
        request = urllib.request.Request(wechat_base + "_control/users", method="POST",
                                         data=json.dumps({"openid": f"obench{gid:020d}"}).encode())
        urllib.request.urlopen(request).close()
    return ids


def outbox_rows(graduate_ids: list[int], n: int, first: int) -> list[tuple]:
    rows = []
    for i in range(first, first + n):
        template, action, action_text, sms = TEMPLATES[i % len(TEMPLATES)]
        payload = {"template": template, "record_id": i, "event_id": i, "kind": "online", "kind_text": "线上签约",
                   "action": action, "action_text": action_text, "state": "signed", "status_text": "签约完成",
                   "unit_name": "北京示范科技有限公司", "actor_role": "school", "reason": None, "explanation": None,
                   "changed_fields": ["job_category"] if sms else [], "sms": sms, "link": f"/wx/records/{i}",
                   "deadline": "2026-12-31 18:00:00"}
        rows.append(("notify", f"notify:{i}", graduate_ids[i % len(graduate_ids)], i, i,
                     json.dumps(payload, ensure_ascii=False)))
    return rows


async def write(db, rows: list[tuple]) -> None:
    async with db.transaction() as cur:
        await cur.executemany("INSERT INTO outbox (topic, idempotency_key, graduate_id, record_id, event_id, payload)"
                              " VALUES (%s,%s,%s,%s,%s,%s)", rows)


async def finished(db, first: int, last: int) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM outbox o WHERE o.record_id BETWEEN %s AND %s AND o.status='done'"
                            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id=o.id AND d.status='pending')",
                            (first, last))
    return row["n"]


async def phase(app, graduate_ids, n: int, first: int, rate: float | None, interval: float, batch: int,
                concurrency: int) -> dict:
    rows = outbox_rows(graduate_ids, n, first)
    if rate is None:
        await write(app.db, rows)
    runner = JobRunner([Job("notify", interval, Notifier(app, batch=batch, concurrency=concurrency).run_once)])
    started = time.perf_counter()
    runner.start()
    if rate is not None:  # slices of 20 at the given rate
        for i in range(0, n, 20):
            await write(app.db, rows[i:i + 20])
            await asyncio.sleep(max(0.0, started + (i + 20) / rate - time.perf_counter()))
    while await finished(app.db, first, first + n - 1) < n:
        # not more often: this count over the whole phase took most of a core of MariaDB at every 0.05 s
        await asyncio.sleep(0.25)
    elapsed = time.perf_counter() - started
    await runner.stop()
    lags = sorted(r["lag"] / 1000 for r in await app.db.fetchall(
        "SELECT TIMESTAMPDIFF(MICROSECOND, o.created_at, MAX(d.sent_at)) AS lag FROM outbox o"
        " JOIN deliveries d ON d.outbox_id=o.id WHERE o.record_id BETWEEN %s AND %s GROUP BY o.id",
        (first, first + n - 1)))
    counts = await app.db.fetchall("SELECT d.status, COUNT(*) AS n FROM deliveries d JOIN outbox o ON o.id=d.outbox_id"
                                   " WHERE o.record_id BETWEEN %s AND %s GROUP BY d.status", (first, first + n - 1))
    return {"elapsed": elapsed, "notifications": n, "statuses": {c["status"]: c["n"] for c in counts},
            "p50": statistics.median(lags), "p99": lags[int(len(lags) * 0.99) - 1]}


async def bare_sdk(app, graduate_ids: list[int], n: int, concurrency: int, run: int) -> float:
    """WeChat sends per second through the SDK alone: n messages of the bench's templates, `concurrency` at once."""
    api, gate = wechat_api_of(app), asyncio.Semaphore(concurrency)
    context = {"graduate_name": "毕业生", "department": "计算机学院", "school_name": "基准大学", "at": None,
               "position_title": None}
    messages = [wechat_message(app.config, json.loads(row[-1]), context)[1]
                for row in outbox_rows(graduate_ids, n, 1)]

    async def send(i: int, m: dict) -> None:
        async with gate:
            await api.send_template(f"obench{graduate_ids[i % len(graduate_ids)]:020d}", m["template_id"], m["data"],
                                    url=m["url"], client_msg_id=f"bare-{run}-{i}")
    started = time.perf_counter()
    await asyncio.gather(*(send(i, m) for i, m in enumerate(messages)))
    return n / (time.perf_counter() - started)


def report(name: str, r: dict) -> str:
    deliveries = sum(r["statuses"].values())
    return (f"{name:<8} {r['notifications']} notifications, {deliveries} deliveries {r['statuses']} in"
            f" {r['elapsed']:.1f} s: {r['notifications'] / r['elapsed']:.0f} notifications/s,"
            f" {deliveries / r['elapsed']:.0f} deliveries/s; outbox lag p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms")


async def bench(env: dict, args) -> list[str]:
    config = Settings.from_env(env)
    app = Application(config)
    await app.start()
    try:
        ids = await seed(app, args.graduates, config.wechat_api_base)
        options = dict(batch=args.batch, concurrency=args.concurrency)
        bare = [await bare_sdk(app, ids, args.notifications, args.concurrency, 1)]
        backlog = await phase(app, ids, args.notifications, 1, None, 0.05, **options)
        bare.append(await bare_sdk(app, ids, args.notifications, args.concurrency, 2))
        steady = await phase(app, ids, args.notifications, args.notifications + 1, args.rate, args.interval, **options)
    finally:
        await app.stop()
    rate = sum(backlog["statuses"].values()) / backlog["elapsed"]
    return [f"Notification delivery benchmark: {args.graduates} graduates bound to WeChat, worker batch {args.batch},"
            f" concurrency {args.concurrency}",
            f"bare SDK {args.notifications} WeChat sends, before and after the backlog: {bare[0]:.0f} / {bare[1]:.0f} per s",
            report("backlog", backlog) + f"; {rate / statistics.mean(bare):.2f}× the bare SDK"
            + verdict(rate >= 500, "≥ 500 deliveries/s"),
            report("steady", steady) + f" (written at {args.rate:.0f}/s, job interval {args.interval} s)"
            + verdict(steady["p99"] <= 500, "lag p99 ≤ 500 ms")]


def verdict(met: bool, target: str) -> str:
    return f"  target {target}: {'met' if met else 'not met'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--graduates", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--interval", type=float, default=0.25, help="the notify job interval (production: 0.25 s)")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    wx_port, sms_port = free_port(), free_port()
    env = bench_env(WECHAT_API_BASE=f"http://127.0.0.1:{wx_port}/", ALIYUN_SMS_ENDPOINT=f"127.0.0.1:{sms_port}")
    config = Settings.from_env(env)
    emulators = subprocess.Popen(
        [PY, "-c", EMULATORS, str(wx_port), str(sms_port), config.wechat_app_id, config.wechat_app_secret,
         config.aliyun_access_key_id, config.aliyun_access_key_secret],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["migrate"], env)
    try:
        wait_http(wx_port)
        wait_http(sms_port)
        print("\n".join(asyncio.run(bench(env, args))))
    finally:
        emulators.terminate()
        emulators.wait(10)
        drop_database(env)


if __name__ == "__main__":
    main()
