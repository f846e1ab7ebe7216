"""Apply migrations/*.sql with yoyo-migrations, creating the database first when it is missing."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from yoyo import get_backend, read_migrations

from server.config import Settings
from server.db import sync_connect

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_database(settings: Settings) -> None:
    name = settings.database["db"]
    conn = sync_connect(settings, with_db=False)
    try:
        with conn.cursor() as cur:
            # The name comes from our own configuration, never from a request; quoted as an identifier.
            cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{name.replace('`', '``')}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
    finally:
        conn.close()


def drop_database(settings: Settings) -> None:
    name = settings.database["db"]
    conn = sync_connect(settings, with_db=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name.replace('`', '``')}`")
    finally:
        conn.close()


def apply_migrations(settings: Settings) -> list[str]:
    """Create the database if needed and apply what is not applied yet; returns the ids applied now."""
    create_database(settings)
    p = settings.database
    url = (f"mysql://{quote(p['user'])}:{quote(p['password'])}@{p['host']}:{p['port']}/{p['db']}"
           "?charset=utf8mb4")
    backend = get_backend(url)
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
    return [m.id for m in todo]
