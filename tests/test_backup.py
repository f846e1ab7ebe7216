"""backup / restore onto an empty database, and rotate-data-key (MultiFernet: new key first, old key retired)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pymysql
import pytest
import redis
from cryptography.fernet import InvalidToken

from server.migrate import drop_database
from server.rotation import ENCRYPTED
from server.vault import Vault
from signing.accounts import actor_key
from tests.test_commands import one_line, run

NEW_KEY = "a-brand-new-data-key-of-at-least-32-characters"


def connect(config):
    return pymysql.connect(**{k: v for k, v in config.database.items() if k != "db"}, database=config.database["db"],
                           autocommit=True, cursorclass=pymysql.cursors.DictCursor, charset="utf8mb4")


def query(config, sql, args=None):
    conn = connect(config)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def files(directory) -> dict[str, bytes]:
    root = Path(directory)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def restored(config, tmp_path):
    """A second database and upload directory for this test, dropped after it."""
    other = dataclasses.replace(config, database_url=config.database_url + "_restored",
                                upload_dir=str(tmp_path / "restored-uploads"))
    drop_database(other)
    yield other
    drop_database(other)


async def some_graduates(world, config):
    school = await world.school()
    graduates = await world.graduates(school, n=3)
    upload = Path(config.upload_dir) / "backup-test" / "photo.jpg"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"\xff\xd8 not really a photo")
    return graduates


@pytest.mark.gen_test(timeout=120)
async def test_backup_restores_onto_an_empty_database_table_for_table(world, config, restored, tmp_path):
    await some_graduates(world, config)
    out = run(config, "backup", str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    # an account cached under the restored database's name (from the database that was lost) is forgotten
    cache = redis.Redis.from_url(config.redis_url)
    cache.set(actor_key(restored.database["db"], 1), "{}")
    out = run(config, "restore", str(tmp_path / "b"),
              env={"DATABASE_URL": restored.database_url, "UPLOAD_DIR": restored.upload_dir})
    assert out.returncode == 0, out.stderr
    assert cache.get(actor_key(restored.database["db"], 1)) is None
    tables = [r["t"] for r in query(config, "SELECT table_name AS t FROM information_schema.tables"
                                            " WHERE table_schema=%s AND table_type='BASE TABLE'", (config.database["db"],))]
    assert "graduates" in tables and len(tables) > 15

    def checksums(c):
        return {r["Table"].split(".", 1)[1]: r["Checksum"]
                for r in query(c, "CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))}
    assert checksums(restored) == checksums(config)
    assert files(restored.upload_dir) == files(config.upload_dir)
    # a second restore is refused in one line: the database is no longer empty
    out = run(config, "restore", str(tmp_path / "b"),
              env={"DATABASE_URL": restored.database_url, "UPLOAD_DIR": str(tmp_path / "other")})
    assert out.returncode == 1 and "is not empty" in one_line(out)


def test_restore_needs_the_backups_data_key_and_backup_a_new_directory(config, restored, tmp_path):
    assert run(config, "backup", str(tmp_path / "b")).returncode == 0
    out = run(config, "restore", str(tmp_path / "b"), env={"DATABASE_URL": restored.database_url,
                                                           "UPLOAD_DIR": restored.upload_dir, "DATA_KEY": NEW_KEY})
    assert out.returncode == 1 and "another DATA_KEY" in one_line(out)
    out = run(config, "backup", str(tmp_path / "b"))
    assert out.returncode == 1 and "is not empty" in one_line(out)
    out = run(config, "restore", str(tmp_path / "nothing"), env={"DATABASE_URL": restored.database_url})
    assert out.returncode == 1 and "holds no backup" in one_line(out)


@pytest.mark.gen_test(timeout=120)
async def test_rotate_data_key_re_encrypts_every_value_and_lookup_hash_with_the_new_key(
        world, config, restored, tmp_path):
    graduates = await some_graduates(world, config)
    # rotate a copy of this run's database (the tests go on with the old key)
    assert run(config, "backup", str(tmp_path / "b")).returncode == 0
    assert run(config, "restore", str(tmp_path / "b"), env={"DATABASE_URL": restored.database_url,
                                                            "UPLOAD_DIR": restored.upload_dir}).returncode == 0
    rotated_env = {"DATABASE_URL": restored.database_url, "DATA_KEY": NEW_KEY}
    out = run(config, "rotate-data-key", "--batch", "7", env={**rotated_env, "DATA_KEY_PREVIOUS": config.data_key})
    assert out.returncode == 0, out.stderr
    assert "remove DATA_KEY_PREVIOUS" in out.stdout
    old, new = Vault(config.data_key), Vault(NEW_KEY)
    ids = [g["id"] for g in graduates]
    marks = ",".join(["%s"] * len(ids))
    before = {r["id"]: r for r in query(config, f"SELECT * FROM graduates WHERE id IN ({marks})", ids)}
    after = {r["id"]: r for r in query(restored, f"SELECT * FROM graduates WHERE id IN ({marks})", ids)}
    for gid, row in after.items():
        clear = old.decrypt(before[gid]["id_cipher"])
        assert new.decrypt(row["id_cipher"]) == clear and row["id_hash"] == new.blind_index(clear)
        assert new.decrypt(row["phone_cipher"]) == old.decrypt(before[gid]["phone_cipher"])
        with pytest.raises(InvalidToken):
            old.decrypt(row["id_cipher"])  # the old key reads nothing any more
    for row in query(restored, "SELECT phone_cipher, phone_hash FROM users WHERE phone_hash IS NOT NULL"):
        assert row["phone_hash"] == new.blind_index(new.decrypt(row["phone_cipher"]))
    # the counts of every other table are untouched, and a run without the old key is refused in one line
    assert query(restored, "SELECT COUNT(*) AS n FROM graduates") == query(config, "SELECT COUNT(*) AS n FROM graduates")
    out = run(config, "rotate-data-key", env=rotated_env)
    assert out.returncode == 1 and "DATA_KEY_PREVIOUS" in one_line(out)


def test_every_encrypted_column_of_the_schema_is_rotated(config):
    columns = {(r["t"], r["c"]) for r in query(
        config, "SELECT table_name AS t, column_name AS c FROM information_schema.columns"
                " WHERE table_schema=%s AND column_name LIKE '%%\\_cipher'", (config.database["db"],))}
    assert columns == {(e.table, e.cipher) for e in ENCRYPTED}
