"""MySQL pool and transactions. Query functions take a cursor so the caller owns the transaction.

The only module that imports a database driver: aiomysql by default, or asyncmy (`DB_DRIVER=asyncmy`, the
optional `asyncmy` extra), which decodes rows in C; both give the same API, the same value types
(tests/test_db_drivers.py) and the exception classes below, so callers never name a driver."""
from __future__ import annotations

import contextlib
from contextlib import asynccontextmanager

import aiomysql
import pymysql

from server.config import Settings

TIME_ZONE = "SET time_zone='+08:00'"


def _driver_errors(name: str) -> tuple[type[Exception], ...]:
    """PyMySQL's exception class (aiomysql raises it) and asyncmy's of the same name, when asyncmy is installed."""
    classes = [getattr(pymysql.err, name)]
    with contextlib.suppress(ImportError):
        import asyncmy.errors
        classes.append(getattr(asyncmy.errors, name))
    return tuple(classes)


# What callers catch (`except IntegrityError`), whichever driver raised it; `exc.args[0]` is the MySQL error number.
IntegrityError = _driver_errors("IntegrityError")
OperationalError = _driver_errors("OperationalError")


async def _asyncmy_pool(**kwargs):
    import asyncmy
    from asyncmy.cursors import DictCursor

    class ListDictCursor(DictCursor):
        """fetchall gives a list, as aiomysql's does (asyncmy's gives a tuple)."""
        async def fetchall(self):
            return list(await super().fetchall())

    return await asyncmy.create_pool(cursor_cls=ListDictCursor, **kwargs)


class Database:
    def __init__(self, settings: Settings):
        self.params = settings.database
        self.driver = settings.db_driver
        self.pool = None

    async def connect(self, maxsize: int = 20) -> None:
        p = self.params
        options = dict(host=p["host"], port=p["port"], user=p["user"], password=p["password"], db=p["db"],
                       charset="utf8mb4", autocommit=True, minsize=1, maxsize=maxsize, init_command=TIME_ZONE)
        if self.driver == "asyncmy":
            self.pool = await _asyncmy_pool(**options)
        else:
            self.pool = await aiomysql.create_pool(cursorclass=aiomysql.DictCursor, **options)

    async def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            await self.pool.wait_closed()
            self.pool = None

    @asynccontextmanager
    async def transaction(self):
        """One database transaction: yields a cursor, commits on success, rolls back on any error."""
        async with self.pool.acquire() as conn:
            await conn.begin()
            try:
                async with conn.cursor() as cur:
                    yield cur
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise

    @asynccontextmanager
    async def cursor(self):
        """A cursor in autocommit mode, for reads."""
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            yield cur

    async def fetchone(self, sql: str, args=None) -> dict | None:
        async with self.cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchone()

    async def fetchall(self, sql: str, args=None) -> list[dict]:
        async with self.cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchall()

    async def ping(self) -> None:
        await self.fetchone("SELECT 1 AS ok")


def sync_connect(settings: Settings, with_db: bool = True) -> pymysql.connections.Connection:
    """A PyMySQL connection for migrations and scripts."""
    p = settings.database
    return pymysql.connect(
        host=p["host"], port=p["port"], user=p["user"], password=p["password"],
        database=p["db"] if with_db else None, charset="utf8mb4", autocommit=True,
        cursorclass=pymysql.cursors.DictCursor, init_command=TIME_ZONE,
    )
