"""Lists benchmark: the staff records list of cohorts of 1,000 / 20,000 / 100,000 graduates (one record each,
demo/large_cohort.py) — page 1, a deep page reached by its cursor (下一页), a jump to a deep page and to the
middle (the longest walk), the last page — and the CSV and Excel exports of 100,000 rows (time and the server's peak memory). Each figure is a
ratio to a baseline run just before it in the same run: a bare Tornado app answering canned JSON of the
same size (for the exports: streaming the same bytes). Targets beside them (issue 12). The pages are measured
with each database driver in turn (a server per DB_DRIVER), with their ratio; the exports with the first.

    .venv/bin/python -m bench.bench_lists [--sizes 1000,20000,100000] [--requests 600] [--drivers aiomysql,asyncmy]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.bench_http import login
from bench.common import (
    bench_env,
    canned,
    driver_ratios,
    drivers_argument,
    drop_database,
    fetch,
    process,
    run,
    services,
)
from bench.loadgen import measure
from demo.large_cohort import seed_cohort
from server.config import Settings
from server.db import sync_connect


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def timed_fetch(url: str, cookie: str) -> tuple[float, int]:
    started = time.perf_counter()
    size = len(fetch(url, cookie))
    return time.perf_counter() - started, size


def seed(env: dict, sizes: list[int]) -> dict[int, str]:
    """A school per size with its cohort, and a school account for each (the demo admin's password)."""
    conn = sync_connect(Settings.from_env(env))
    users = {}
    with conn.cursor() as cur:
        cur.execute("SELECT cohort FROM school_settings LIMIT 1")
        cohort = cur.fetchone()["cohort"]
        for i, n in enumerate(sizes):
            cur.execute("INSERT INTO schools (code, name, province_code) VALUES (%s, %s, '11')",
                        (f"3{i:04d}", f"列表基准大学{n}"))
            school_id = cur.lastrowid
            started = time.perf_counter()
            seed_cohort(cur.execute, school_id, cohort, n)
            cur.execute("INSERT INTO users (username, password_hash, role, display_name, school_id)"
                        " SELECT %s, password_hash, 'school', '基准学校用户', %s FROM users WHERE username='school_admin'",
                        (f"bench_lists_{n}", school_id))
            cur.execute("INSERT INTO user_permissions VALUES (%s, 'employment', 'read_write')", (cur.lastrowid,))
            conn.commit()
            users[n] = f"bench_lists_{n}"
            print(f"seeded {n} graduates and records in {time.perf_counter() - started:.1f} s")
        cur.execute("ANALYZE TABLE records, graduates")
        cur.fetchall()
    conn.close()
    return users


def line(name: str, result: dict, base: dict, target: str = "") -> str:
    return (f"{name:<40} {result['rps']:>7.0f} req/s  p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms"
            f"  err {result['errors']:<2} | canned {base['rps']:>6.0f} req/s  ratio {result['rps'] / base['rps']:.2f}"
            f"  {target}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,20000,100000")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    drivers_argument(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    drivers = args.drivers.split(",")
    env = bench_env()
    run(["migrate"], env)
    run(["demo"], env)
    load = dict(concurrency=args.concurrency, requests=args.requests, seconds=15)
    out = []
    try:
        users = seed(env, sizes)
        with services(env, drivers) as bases:
            base = bases[drivers[0]]
            for n in sizes:
                cookie = login(base, users[n], "demo2026pass")
                lst = base + "/api/school/records?page_size=50"
                pages = json.loads(fetch(lst, cookie))["pages"]
                deep_page = min(200, pages)
                deep_cursor = json.loads(fetch(f"{lst}&page={deep_page - 1}", cookie))["next"]
                figures = {}
                for name, url in (("page 1", lst), (f"page {deep_page} by cursor (下一页)", f"{lst}&cursor={deep_cursor}"),
                                  (f"jump to page {deep_page}", f"{lst}&page={deep_page}"),
                                  (f"jump to page {pages // 2} (the middle)", f"{lst}&page={pages // 2}"),
                                  (f"last page ({pages})", f"{lst}&page={pages}")):
                    with canned(fetch(url, cookie)) as canned_url:
                        baseline = measure(canned_url, warm_up=True, **load)
                    path = url.removeprefix(base)
                    figures[name] = ({d: measure(bases[d] + path, headers={"Cookie": cookie}, **load)
                                      for d in drivers}, baseline)
                out.append(f"\n{n} graduates ({pages} pages of 50), {args.concurrency} connections")
                for name, (by_driver, baseline) in figures.items():
                    for driver, result in by_driver.items():
                        first = figures["page 1"][0][driver]
                        target = ("target ≥ 0.15× canned" if name == "page 1" else
                                  f"time vs page 1 {first['rps'] / result['rps']:.2f}×"
                                  + (" (target ≤ 1.3×)" if "cursor" in name else ""))
                        out.append(line(f"{name} [{driver}]", result, baseline, target))
                    if len(drivers) > 1:
                        out.append(f"{'':<40} {driver_ratios(by_driver, drivers)}")
                print("\n".join(out[-len(figures) * (len(drivers) + (len(drivers) > 1)) - 1:]), flush=True)
        # each export in a fresh server (warmed by one page and one small export), so that its peak is its own
        out.append(f"\nexports (the server's peak RSS over its resting RSS, a fresh server for each; {drivers[0]})")
        for n in sizes[-2:]:
            for label, path in (("CSV", "/api/school/records/export"), ("Excel", "/api/school/records/export.xlsx")):
                with process(["-m", "server", "serve"], dict(env, DB_DRIVER=drivers[0])) as (base, server):
                    cookie = login(base, users[n], "demo2026pass")
                    fetch(base + "/api/school/records", cookie)
                    fetch(base + path + "?name=nobody", cookie)
                    Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # the peak (VmHWM) starts now
                    resting = memory_kib(server.pid, "VmRSS")
                    seconds, size = timed_fetch(base + path, cookie)
                    peak = memory_kib(server.pid, "VmHWM") - resting
                    body = fetch(base + path, cookie)
                with canned(body, "application/octet-stream") as canned_url:
                    timed_fetch(canned_url, "")
                    baseline, _ = timed_fetch(canned_url, "")
                out.append(f"{n:>6} rows {label:<6} {seconds:>6.2f} s  {size / 2**20:>6.1f} MiB  peak +{peak / 1024:.1f} MiB"
                           f" | canned bytes {baseline:.2f} s  ratio {seconds / baseline:.0f}×")
                print(out[-1], flush=True)
        print("\nLists benchmark" + "\n".join(out))
    finally:
        drop_database(env)


if __name__ == "__main__":
    main()
