"""Accepted uploads: the photo checked (documents/images.py), stored under a name of ours (FileStore) and recorded
in one `uploads` row; and who may look at a stored photo.

A photo the check refuses raises its DomainError before anything is written; one refused by its reading is
removed again. Either way it never gets an id and never replaces an earlier accepted one (records reference
uploads by id)."""
from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import documents.errors  # noqa: F401  (registers the error codes)
from documents import recognition
from documents.images import StoredImage, check_and_store
from documents.pools import background_pool
from documents.storage import FileStore
from signing import rules
from signing.actors import Actor
from signing.errors import DomainError

# Decoding photos and drawing PDFs is CPU work of 0.1-1 s: our own threads, off the event loop, so it
# neither blocks requests nor starves the default executor (password hashing runs there).
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="documents")
log = logging.getLogger(__name__)
VIEWER_ROLES = ("graduate", "employer", "school", "department", "province", "ministry", "admin")
READ_KINDS = ("stamped-agreement", "paper-agreement")  # photos of an agreement: read and compared (recognition.py)


CHECK_PROCESSES = max(1, (os.cpu_count() or 2) // 2)  # half the cores: the server's own requests keep the rest
_checks: ProcessPoolExecutor | None = None


async def run_blocking(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, fn, *args)


def _check_pool() -> ProcessPoolExecutor:
    global _checks
    if _checks is None:
        _checks = background_pool(CHECK_PROCESSES)
    return _checks


async def stored_photo(kind: str, data: bytes | Path, store: FileStore) -> StoredImage:
    """check_and_store in a process of its own (a pool of half the cores): decoding, analysing and re-encoding a
    12 MP photo holds the GIL for long stretches, which in a thread of the server delayed every other request
    (p99 of /api/me ×15 during four uploads); the photo is saved there too, so only its name comes back. A
    photo that kills its process (the kernel's OOM killer) is tried once more, then refused."""
    global _checks
    for attempt in (1, 2):
        try:
            return await asyncio.wrap_future(_check_pool().submit(check_and_store, kind, data, str(store.root)))
        except BrokenProcessPool:
            log.exception("the photo-check process died (attempt %d)", attempt)
            _checks = None
    raise DomainError("image_corrupt")


async def accept_upload(db, store: FileStore, kind: str, data: bytes | Path, *, graduate_id: int | None,
                        uploaded_by: int | None, employer_id: int | None = None, check_as: str | None = None,
                        facts: dict | None = None, shown_name: str | None = None) -> dict:
    """Check and store (as `check_as`, default `kind`; `data` the photo or the file it was streamed into), read
    (agreement photos, compared with `facts` of the record it is for: recognition.agreement_facts) and record
    one photo; returns {id, kind, width, height, bytes, reading}. DomainError when refused, and then no file is
    left. `shown_name`: the graduate's name as the answer may show it."""
    stored = await stored_photo(check_as or kind, data, store)
    try:
        judged = await read_and_judge(kind, store.path(stored.name), facts)
        async with db.transaction() as cur:
            await cur.execute(
                "INSERT INTO uploads (kind, storage_name, sha256, width, height, bytes, reading_status, reading,"
                " uploaded_by, graduate_id, employer_id) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (kind, stored.name, stored.sha256, stored.width, stored.height, stored.size,
                 judged and judged["status"], judged and json.dumps(judged, ensure_ascii=False), uploaded_by,
                 graduate_id, employer_id))
            upload_id = cur.lastrowid
    except BaseException:
        store.delete(stored.name)  # refused by its reading, or no row: no file
        raise
    reading = None
    if judged is not None:
        reading = {"status": judged["status"], "status_text": judged["status_text"], "checks": judged["checks"],
                   "summary": recognition.summary(judged, facts, shown_name) if facts else
                   recognition.summary(judged, {"kind": "paper"})}
    return {"id": upload_id, "kind": kind, "width": stored.width, "height": stored.height,
            "bytes": stored.size, "reading": reading}


async def read_and_judge(kind: str, photo: Path, facts: dict | None) -> dict | None:
    """What is stored with an agreement photo (recognition.judge), None for other kinds. A stamped copy not
    uploaded for a given agreement is not read: kept as to_check."""
    if kind not in READ_KINDS:
        return None
    if kind == "stamped-agreement" and facts is None:
        return recognition.judge(None, None, kind)
    return recognition.judge(await recognition.read_within_budget(photo), facts, kind)


async def discard_upload(db, store: FileStore, upload_id: int) -> None:
    """Undoes accept_upload for a photo whose use was then refused: no row, no file (never one in use)."""
    row = await db.fetchone("SELECT storage_name FROM uploads WHERE id=%s AND record_id IS NULL", (upload_id,))
    if row is None:
        return
    async with db.transaction() as cur:
        await cur.execute("DELETE FROM uploads WHERE id=%s AND record_id IS NULL", (upload_id,))
        deleted = cur.rowcount
    if deleted:
        store.delete(row["storage_name"])


async def viewable_upload(db, actor: Actor, upload_id: int) -> dict:
    """The uploads row when the actor may see the photo: the graduate it belongs to, or whoever may see the
    record it is attached to (school and department staff in scope, province, ministry, the employer of an
    online record). Anyone else gets not_found, as if it did not exist."""
    row = await db.fetchone(
        "SELECT u.id, u.kind, u.storage_name, u.graduate_id, u.employer_id AS owner_employer_id, u.record_id,"
        " r.kind AS record_kind,"
        " r.graduate_id AS record_graduate_id, r.school_id, r.department, r.level, r.employer_id, s.province_code"
        " FROM uploads u LEFT JOIN records r ON r.id=u.record_id LEFT JOIN schools s ON s.id=r.school_id"
        " WHERE u.id=%s", (upload_id,))
    if row is None or actor.role not in VIEWER_ROLES:
        raise DomainError("not_found")
    if actor.role == "graduate" and row["graduate_id"] == actor.graduate_id:
        return row
    if row["owner_employer_id"] is not None and (actor.role == "admin" or actor.employer_id == row["owner_employer_id"]):
        return row  # an employer's certification documents: the employer and the platform administrator
    if row["record_id"] is not None and actor.role != "graduate":
        record = {"kind": row["record_kind"], "graduate_id": row["record_graduate_id"], "school_id": row["school_id"],
                  "department": row["department"], "level": row["level"], "employer_id": row["employer_id"]}
        if rules.can_see(actor, record, row["province_code"]):
            return row
    raise DomainError("not_found")
