"""Records benchmark: "my records" of a graduate with a full history, and the school's audit list over a
cohort of 20,000 graduates, each at 32 connections with each database driver (a server per DB_DRIVER, measured
in turn) and their ratio. Each path's baseline, run just before it in the same run, is what issue 12 names: a
bare Tornado app answering canned JSON of the same size (the very bytes of that answer); a bare hello-world is
printed beside it for comparison with the earlier figures.

    .venv/bin/python -m bench.bench_records [--graduates 20000] [--requests 3000] [--drivers aiomysql,asyncmy]
"""
from __future__ import annotations

import argparse
import asyncio

from bench.bench_http import login
from bench.common import (
    bare_tornado,
    bench_env,
    canned,
    driver_ratios,
    drivers_argument,
    drop_database,
    fetch,
    row,
    run,
    services,
)
from bench.loadgen import measure
from demo.sample_data import roster_csv, roster_row
from server.app import Application
from server.config import Settings
from signing.accounts import forget_actors
from signing.actors import SYSTEM
from signing.roster_service import import_roster

HISTORY_SQL = """
INSERT INTO records (kind, graduate_id, school_id, cohort, department, level, employer_id, initiator, state,
                     in_flow, data)
SELECT 'online', g.id, g.school_id, g.cohort, g.department, g.level, %s, 'employer', %s, 0,
       JSON_OBJECT('unit_name', CONCAT('历史单位', n.n), 'job_category', '13')
FROM graduates g JOIN (SELECT seq AS n FROM seq_1_to_40) n WHERE g.id=%s
"""


async def build_dataset(env: dict, graduates: int) -> None:
    """A second school with a cohort of `graduates`, each with a destination record waiting for audit, and
    grad1 of the demo school with a long history (40 earlier invitations)."""
    config = Settings.from_env(env)
    app = Application(config)
    await app.start()
    try:
        db = app.db
        async with db.transaction() as cur:
            await cur.execute("INSERT INTO schools (code, name, province_code) VALUES ('20001','基准测试大学','11')")
            school_id = cur.lastrowid
            await cur.execute("INSERT INTO school_settings (school_id, cohort, online_signing) SELECT %s, cohort, 1"
                              " FROM school_settings LIMIT 1", (school_id,))
        cohort = (await db.fetchone("SELECT cohort FROM school_settings WHERE school_id=%s", (school_id,)))["cohort"]
        departments = [f"第{i}学院" for i in range(1, 21)]
        rows = [roster_row(100000 + i, "20001", cohort, department=departments[i % 20]) for i in range(graduates)]
        await import_roster(db, app.vault, SYSTEM, "bench.csv", roster_csv(rows))
        async with db.transaction() as cur:
            await cur.execute(
                "INSERT INTO records (kind, graduate_id, school_id, cohort, department, level, initiator, state,"
                " audit_stage, in_flow, active_graduate_id, data)"
                " SELECT 'destination', id, school_id, cohort, department, level, 'graduate', 'destination_audit',"
                " 'school', 1, id, JSON_OBJECT('type_code','80','fields',JSON_OBJECT('school_name','北京大学'))"
                " FROM graduates WHERE school_id=%s", (school_id,))
            await cur.execute("SELECT id FROM employers LIMIT 1")
            employer_id = (await cur.fetchone())["id"]
            await cur.execute("SELECT graduate_id FROM users WHERE username='grad1'")
            grad1 = (await cur.fetchone())["graduate_id"]
            for state in ("refused", "expired"):
                await cur.execute(HISTORY_SQL, (employer_id, state, grad1))
            await cur.execute("UPDATE users SET school_id=%s, role='school' WHERE username='school_viewer'", (school_id,))
            await cur.execute("UPDATE user_permissions p JOIN users u ON u.id=p.user_id SET p.level='read_write'"
                              " WHERE u.username='school_viewer'")
            await cur.execute("SELECT id FROM users WHERE username='school_viewer'")
            viewer = (await cur.fetchone())["id"]
        await forget_actors(db, app.redis, [viewer])
    finally:
        await app.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--graduates", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=3000)
    drivers_argument(parser)
    args = parser.parse_args()
    drivers = args.drivers.split(",")
    env = bench_env()
    run(["migrate"], env)
    run(["demo"], env)
    try:
        asyncio.run(build_dataset(env, args.graduates))
        with bare_tornado() as bare_url, services(env, drivers) as bases:
            base = bases[drivers[0]]
            cookies = {"graduate": login(base, "grad1", "demo2026pass"),
                       "school": login(base, "school_viewer", "demo2026pass")}
            load = dict(concurrency=32, requests=args.requests)
            bare = measure(bare_url, warm_up=True, **load)
            results = {}
            for name, path, who in (
                    ("GET /api/graduate/records (81 records)", "/api/graduate/records", "graduate"),
                    ("GET /api/school/records (audit list, page 1)", "/api/school/records?state=destination_audit",
                     "school"),
                    ("GET /api/school/records (audit list, page 200)",
                     "/api/school/records?state=destination_audit&page=200", "school")):
                body = fetch(bases[drivers[0]] + path, cookies[who])
                with canned(body) as canned_url:
                    baseline = measure(canned_url, warm_up=True, **load)
                results[name] = (len(body), baseline, {d: measure(bases[d] + path, headers={"Cookie": cookies[who]},
                                                                  **load) for d in drivers})
        print(f"Records benchmark, 32 connections; audit list over a cohort of {args.graduates} graduates")
        print(row("bare Tornado hello-world", bare, bare))
        for name, (size, baseline, by_driver) in results.items():
            print(f"{name}: {size / 1024:.0f} KiB; canned JSON of the same bytes {baseline['rps']:.0f} req/s"
                  f" ({baseline['rps'] / bare['rps']:.2f}× hello-world)")
            for driver, result in by_driver.items():
                ratio = result["rps"] / baseline["rps"]
                target = "" if "page 200" in name else \
                    f"  target >= 0.15× canned: {'met' if ratio >= 0.15 else 'not met'}"
                print(row(f"  [{driver}]", result, bare) + f"  ratio to canned {ratio:.2f}{target}")
            if len(drivers) > 1:
                print(f"{'':<44} {driver_ratios(by_driver, drivers)}")
    finally:
        drop_database(env)


if __name__ == "__main__":
    main()
