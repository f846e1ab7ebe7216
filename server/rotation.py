"""`rotate-data-key`: every encrypted column re-encrypted with the new DATA_KEY and every lookup hash
recomputed with it, in batches of one transaction each; the old key (DATA_KEY_PREVIOUS) is then retired.

Run it with serve and the workers stopped: until a row is rotated, a lookup by its ID number or phone (login,
search, binding) uses the new key's hash and misses it. Running it again is harmless (rows are re-encrypted
again). Employer SMS links (keyed hashes of tokens we never keep) die with the old key: graduates send new ones."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from server.config import Settings
from server.db import sync_connect
from server.vault import Vault

log = logging.getLogger("wangqian.rotation")


@dataclass(frozen=True)
class Encrypted:
    table: str
    cipher: str
    lookup_hash: str | None = None  # the blind index of the same clear text, recomputed with the new key


# Every encrypted column; a new one must be added here (tests/test_backup.py checks the schema against it).
ENCRYPTED = (
    Encrypted("graduates", "id_cipher", "id_hash"),
    Encrypted("graduates", "phone_cipher"),
    Encrypted("users", "phone_cipher", "phone_hash"),
    Encrypted("employers", "contact_phone_cipher"),
)


class RotationError(Exception):
    pass


def rotate_data_key(config: Settings, batch: int = 500, say=print) -> dict[str, int]:
    if not config.data_key_previous:
        raise RotationError("set DATA_KEY to the new key and DATA_KEY_PREVIOUS to the key in use until now")
    if config.data_key_previous == config.data_key:
        raise RotationError("DATA_KEY and DATA_KEY_PREVIOUS are the same key")
    vault, old = Vault(config.data_key, config.data_key_previous), Vault(config.data_key_previous)
    conn = sync_connect(config)
    counts = {}
    try:
        for column in ENCRYPTED:
            counts[f"{column.table}.{column.cipher}"] = _rotate(conn, column, vault, old, batch)
            say(f"{column.table}.{column.cipher}: {counts[f'{column.table}.{column.cipher}']} rows re-encrypted")
        stale = _not_current(conn, vault)
    finally:
        conn.close()
    if stale:
        raise RotationError(f"{stale} values still need the old key; run rotate-data-key again")
    say("every value reads with DATA_KEY alone: remove DATA_KEY_PREVIOUS and destroy the old key")
    return counts


def _rotate(conn, column: Encrypted, vault: Vault, old: Vault, batch: int) -> int:
    t, c, h = column.table, column.cipher, column.lookup_hash
    done, last_id = 0, 0
    while True:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, {c} AS cipher{f', {h} AS lookup' if h else ''} FROM {t}"
                        f" WHERE id > %s AND {c} IS NOT NULL ORDER BY id LIMIT %s", (last_id, batch))
            rows = cur.fetchall()
        if not rows:
            return done
        conn.begin()
        try:
            with conn.cursor() as cur:
                for row in rows:
                    clear = vault.decrypt(row["cipher"])
                    if h and row["lookup"] in (old.blind_index(clear), vault.blind_index(clear)):
                        cur.execute(f"UPDATE {t} SET {c}=%s, {h}=%s WHERE id=%s",
                                    (vault.encrypt(clear), vault.blind_index(clear), row["id"]))
                    else:  # no lookup hash, or one of another value: only the cipher changes
                        cur.execute(f"UPDATE {t} SET {c}=%s WHERE id=%s", (vault.encrypt(clear), row["id"]))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        done += len(rows)
        last_id = rows[-1]["id"]
        log.info("rotated %s.%s up to id %s", t, c, last_id)


def _not_current(conn, vault: Vault) -> int:
    stale = 0
    for column in ENCRYPTED:
        with conn.cursor() as cur:
            cur.execute(f"SELECT {column.cipher} AS cipher FROM {column.table} WHERE {column.cipher} IS NOT NULL")
            stale += sum(not vault.is_current(r["cipher"]) for r in cur.fetchall())
    return stale
