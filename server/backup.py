"""`backup DIR` and `restore DIR`: the database (mariadb-dump, one consistent snapshot) and the files under
UPLOAD_DIR, with a manifest naming the DATA_KEY they need (its fingerprint, never the key: keep the key
apart from the backups, and without it the ID numbers and phones of a backup are unreadable)."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from server.config import Settings
from server.db import sync_connect
from server.vault import key_fingerprint

DUMP, FILES, MANIFEST = "database.sql.gz", "uploads.tar.gz", "manifest.json"


class BackupError(Exception):
    pass


def _client_env(config: Settings) -> dict:
    return {**os.environ, "MYSQL_PWD": config.database["password"]}  # never on a command line others can read


def _client_args(config: Settings) -> list[str]:
    db = config.database
    return ["--protocol=TCP", "-h", db["host"], "-P", str(db["port"]), "-u", db["user"]]


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name.replace("mariadb", "mysql"))
    if not path:
        raise BackupError(f"{name} is not installed (Debian: apt-get install mariadb-client)")
    return path


def backup(config: Settings, directory: str, say=print) -> dict:
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{directory} is not empty: give a new directory for each backup")
    target.mkdir(parents=True, exist_ok=True)
    db = config.database
    dump = subprocess.Popen(
        [_tool("mariadb-dump"), *_client_args(config), "--single-transaction", "--routines", "--triggers",
         "--hex-blob", "--default-character-set=utf8mb4", "--no-tablespaces", db["db"]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_client_env(config))
    with gzip.open(target / DUMP, "wb") as out:
        shutil.copyfileobj(dump.stdout, out)
    if dump.wait() != 0:
        raise BackupError(f"mariadb-dump failed: {dump.stderr.read().decode(errors='replace').strip()}")
    uploads = Path(config.upload_dir)
    files = 0
    with tarfile.open(target / FILES, "w:gz") as tar:
        if uploads.is_dir():
            for path in sorted(uploads.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(uploads)))
                    files += 1
    manifest = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), "database": db["db"],
                "migrations": _migrations(config), "upload_files": files,
                "data_key_fingerprint": key_fingerprint(config.data_key)}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    say(f"backup in {target}: database {db['db']} ({(target / DUMP).stat().st_size} bytes compressed),"
        f" {files} uploaded files; it needs the DATA_KEY of fingerprint {manifest['data_key_fingerprint']}")
    return manifest


def restore(config: Settings, directory: str, say=print) -> dict:
    source = Path(directory)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{directory} holds no backup ({MANIFEST}: {exc})") from None
    keys = {key_fingerprint(k) for k in (config.data_key, config.data_key_previous) if k}
    if manifest["data_key_fingerprint"] not in keys:
        raise BackupError("this backup was made with another DATA_KEY (fingerprint"
                          f" {manifest['data_key_fingerprint']}): set that key, or nothing personal would be readable")
    db = config.database
    conn = sync_connect(config, with_db=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{db['db']}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema=%s", (db["db"],))
            if cur.fetchone()["n"]:
                raise BackupError(f"database {db['db']} is not empty: restore only onto an empty database")
    finally:
        conn.close()
    uploads = Path(config.upload_dir)
    if uploads.is_dir() and any(uploads.iterdir()):
        raise BackupError(f"UPLOAD_DIR {uploads} is not empty: restore only into an empty directory")
    load = subprocess.Popen([_tool("mariadb"), *_client_args(config), "--default-character-set=utf8mb4", db["db"]],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=_client_env(config))
    with gzip.open(source / DUMP, "rb") as dump:
        shutil.copyfileobj(dump, load.stdin)
    load.stdin.close()
    if load.wait() != 0:
        raise BackupError(f"loading the dump failed: {load.stderr.read().decode(errors='replace').strip()}")
    _forget_cached_accounts(config)
    uploads.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / FILES, "r:gz") as tar:
        tar.extractall(uploads, filter="data")  # no absolute paths, links out or devices
    say(f"restored {manifest['database']} of {manifest['created_at']} into {db['db']}"
        f" and {manifest['upload_files']} files into {uploads}")
    return manifest


def _forget_cached_accounts(config: Settings) -> None:
    """Accounts cached in Redis under this database's name (signing/accounts.py) were those of the database
    that was lost, not of the one restored: dropped, so every request reads the restored accounts."""
    import redis

    from signing.accounts import actor_key
    client = redis.Redis.from_url(config.redis_url)
    try:
        for key in client.scan_iter(match=actor_key(config.database["db"], "*"), count=1000):
            client.delete(key)
    finally:
        client.close()


def _migrations(config: Settings) -> list[str]:
    conn = sync_connect(config)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc")
            return [r["migration_id"] for r in cur.fetchall()]
    finally:
        conn.close()
