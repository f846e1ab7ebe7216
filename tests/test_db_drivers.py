"""Both database drivers (DB_DRIVER: aiomysql, asyncmy) behind server/db.py give the same rows, the same value
types, the same cursor attributes and the exception classes callers catch (server.db.IntegrityError,
OperationalError) with the same MySQL error numbers."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from server.config import DB_DRIVERS
from server.db import Database, IntegrityError, OperationalError

# every column type the migrations use, and what the code reads through expressions (JSON_OBJECTAGG, SUM, COUNT)
TABLE = """CREATE TABLE IF NOT EXISTS driver_types (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, n INT, small SMALLINT, flag TINYINT(1), code CHAR(2), name VARCHAR(50),
    body TEXT, state ENUM('draft','submitted'), at DATETIME, at_ms DATETIME(3), day DATE, clock TIME,
    data JSON, secret VARBINARY(64), amount DECIMAL(10,2), UNIQUE KEY uq_driver_code (code))"""
ROW = ("INSERT INTO driver_types (n, small, flag, code, name, body, state, at, at_ms, day, clock, data, secret, amount)"
       " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)")
QUERIES = [
    ("SELECT * FROM driver_types ORDER BY id", None),
    ("SELECT id, JSON_UNQUOTE(JSON_EXTRACT(data, '$.unit_name')) AS unit, JSON_OBJECTAGG(code, n) AS agg,"
     " SUM(amount) AS total, COUNT(*) AS rows_, AVG(n) AS mean, NOW() - INTERVAL 1 DAY < at AS recent,"
     " CAST(at AS DATE) AS day_of FROM driver_types GROUP BY id ORDER BY id", None),
    ("SELECT name, secret FROM driver_types WHERE name IN (%s, %s) AND at < %s ORDER BY id",
     ["毕业生甲", "nobody", "2030-01-01 00:00:00"]),
    ("SELECT @@session.time_zone AS tz, @@autocommit AS autocommit, 1 AS one, NULL AS nothing", None),
]


@pytest.fixture
def table(sql):
    sql(TABLE)
    yield
    sql("DROP TABLE driver_types")


def databases(config) -> dict[str, Database]:
    return {d: Database(dataclasses.replace(config, db_driver=d)) for d in DB_DRIVERS}


def described(rows: list[dict]) -> list[dict]:
    return [{k: (type(v).__name__, v) for k, v in row.items()} for row in rows]


@pytest.mark.gen_test
async def test_both_drivers_give_the_same_rows_and_types(config, table):
    dbs = databases(config)
    for db in dbs.values():
        await db.connect(maxsize=2)
    try:
        db = dbs["aiomysql"]
        async with db.transaction() as cur:
            await cur.executemany(ROW, [
                (7, -3, 1, "a1", "毕业生甲", "长文本" * 100, "submitted", "2026-06-30 23:59:59",
                 "2026-06-30 08:00:00.125", "2026-07-01", "08:30:00", '{"unit_name": "北京大学", "n": [1, 2.5]}',
                 b"\x00\xff\x10ciphertext", "12.50"),
                (None, None, 0, "b2", "nobody", None, None, None, None, None, None, None, None, None),
            ])
        seen = {}
        for driver, each in dbs.items():
            results = []
            for sql, args in QUERIES:
                rows = await each.fetchall(sql, args)
                assert isinstance(rows, list)
                results.append(described(rows))
            async with each.cursor() as cur:
                await cur.execute(QUERIES[0][0])
                results.append(described([await cur.fetchone()]))
                assert len(await cur.fetchall()) == 1
            seen[driver] = results
        assert seen["aiomysql"] == seen["asyncmy"]
        first = seen["aiomysql"][0][0]
        assert [first[c][0] for c in ("at", "at_ms", "day", "data", "secret", "amount", "flag", "clock")] == \
            ["datetime", "datetime", "date", "str", "bytes", "Decimal", "int", "timedelta"]
        assert seen["aiomysql"][3][0]["tz"] == ("str", "+08:00") and seen["aiomysql"][3][0]["autocommit"][1] == 1
    finally:
        for db in dbs.values():
            await db.close()


@pytest.mark.gen_test
async def test_both_drivers_write_roll_back_and_raise_the_same_errors(config, table):
    dbs = databases(config)
    for db in dbs.values():
        await db.connect(maxsize=3)
    try:
        for driver, db in dbs.items():
            code = driver[:2]
            async with db.transaction() as cur:
                await cur.execute("INSERT INTO driver_types (code, name) VALUES (%s, %s)", (code, driver))
                row_id = cur.lastrowid
                await cur.execute("UPDATE driver_types SET n=1 WHERE code IN (%s, 'zz')", (code,))
                assert row_id > 0 and cur.rowcount == 1
            with pytest.raises(IntegrityError) as duplicate:
                async with db.transaction() as cur:
                    await cur.execute("UPDATE driver_types SET n=2 WHERE id=%s", (row_id,))
                    await cur.execute("INSERT INTO driver_types (code) VALUES (%s)", (code,))
            assert duplicate.value.args[0] == 1062 and "uq_driver_code" in str(duplicate.value)
            assert (await db.fetchone("SELECT n FROM driver_types WHERE id=%s", (row_id,)))["n"] == 1  # rolled back
            # a lock wait that times out is an OperationalError 1205, which records_service retries
            async with db.transaction() as holder:
                await holder.execute("SELECT id FROM driver_types WHERE id=%s FOR UPDATE", (row_id,))
                with pytest.raises(OperationalError) as waited:
                    async with db.transaction() as cur:
                        await cur.execute("SET SESSION innodb_lock_wait_timeout=1")
                        await cur.execute("UPDATE driver_types SET n=3 WHERE id=%s", (row_id,))
                assert waited.value.args[0] == 1205
    finally:
        for db in dbs.values():
            await db.close()


@pytest.mark.gen_test
async def test_an_unreachable_database_is_the_same_operational_error(config):
    for driver in DB_DRIVERS:
        db = Database(dataclasses.replace(config, db_driver=driver, database_url="mysql://root:@127.0.0.1:1/none"))
        with pytest.raises(OperationalError) as refused:
            await asyncio.wait_for(db.connect(maxsize=1), 10)
        assert refused.value.args[0] == 2003, driver
