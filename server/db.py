"""MySQL pool and transactions (aiomysql). Query functions take a cursor so the caller owns the transaction."""
from __future__ import annotations

from contextlib import asynccontextmanager

import aiomysql
import pymysql

from server.config import Settings


class Database:
    def __init__(self, settings: Settings):
        self.params = settings.database
        self.pool: aiomysql.Pool | None = None

    async def connect(self, maxsize: int = 20) -> None:
        p = self.params
        self.pool = await aiomysql.create_pool(
            host=p["host"], port=p["port"], user=p["user"], password=p["password"], db=p["db"],
            charset="utf8mb4", autocommit=True, minsize=1, maxsize=maxsize,
            cursorclass=aiomysql.DictCursor, init_command="SET time_zone='+08:00'",
        )

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
            return list(await cur.fetchall())

    async def ping(self) -> None:
        await self.fetchone("SELECT 1 AS ok")


def sync_connect(settings: Settings, with_db: bool = True) -> pymysql.connections.Connection:
    """A PyMySQL connection for migrations and scripts."""
    p = settings.database
    return pymysql.connect(
        host=p["host"], port=p["port"], user=p["user"], password=p["password"],
        database=p["db"] if with_db else None, charset="utf8mb4", autocommit=True,
        cursorclass=pymysql.cursors.DictCursor, init_command="SET time_zone='+08:00'",
    )
