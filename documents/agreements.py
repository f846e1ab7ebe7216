"""The agreement PDF of an approved agreement (就业协议书) and its public verification.

When an agreement is approved (offline: the agreement audit passes; online: the signing audit passes) the
records service writes an outbox row of topic 'document'; AgreementDocumentJob renders the PDF then. A reader
who comes first gets it rendered on demand by the same function (ensure_document), so it never waits on the job.
Each PDF carries a QR code to /verify/<token>: the token is random (not derived from the record) and stored."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import date

import documents.errors  # noqa: F401  (registers the error codes)
from documents.pdf import render_agreement_pdf
from documents.storage import FileStore
from documents.uploads import run_blocking
from server.outbox import claim_due, mark_done, mark_retry
from signing import clock, rules
from signing.actors import Actor
from signing.codes import JOB_CATEGORIES, UNIT_INDUSTRIES, UNIT_NATURES
from signing.eligibility import level_group
from signing.errors import DomainError
from signing.personal import mask_name

log = logging.getLogger("wangqian.documents")
AGREEMENT_KINDS = ("offline", "online")  # the kinds whose agreement the platform generates
# States in which an approved agreement stands (a cancellation in progress does not undo it yet).
STANDING_STATES = {"agreement_approved", "signing_audit", "signing_returned", "signed", "cancel_pending_employer",
                   "cancel_pending_graduate", "cancel_audit_online", "cancel_audit", "cancel_returned"}
PDF_READERS = ("graduate", "employer", "school", "department")  # SPEC 4.1/4.3: the parties and the school

_SOURCE = (
    "SELECT r.id, r.kind, r.state, r.cohort, r.school_id, r.agreement_number, r.data, g.name, g.gender,"
    " g.id_masked, g.department, g.major, g.level, g.student_number, g.phone_masked, s.name AS school_name,"
    " s.address AS school_address, s.postcode AS school_postcode, s.phone AS school_phone, p.agreement_type"
    " FROM records r JOIN graduates g ON g.id=r.graduate_id JOIN schools s ON s.id=r.school_id"
    " JOIN provinces p ON p.code=s.province_code WHERE r.id=%s"
)


def verify_url(public_base_url: str, token: str) -> str:
    return public_base_url.rstrip("/") + "/verify/" + token


def agreement_status(state: str) -> tuple[str, str]:
    """(status, 中文) of an agreement as the public verification page states it."""
    if state in STANDING_STATES:
        return "valid", "有效"
    if state == "cancelled":
        return "cancelled", "已解约"
    return "void", "已作废"


def _data(row: dict) -> dict:
    data = row["data"]
    return json.loads(data) if isinstance(data, str | bytes) else (data or {})


async def _approved_agreement(db, record_id: int) -> dict:
    """The record with its graduate, school and province; not_found unless it has an approved agreement."""
    row = await db.fetchone(_SOURCE, (record_id,))
    if row is None or row["kind"] not in AGREEMENT_KINDS or not row["agreement_number"]:
        raise DomainError("not_found")
    row["data"] = _data(row)
    row["handler"] = await db.fetchone(
        "SELECT name, phone, address, postcode FROM agreement_handlers WHERE school_id=%s AND cohort=%s"
        " AND level_group IN ('all', %s) ORDER BY level_group='all' LIMIT 1",  # a per-level handler first
        (row["school_id"], row["cohort"], level_group(row["level"]))) or {}
    return row


def agreement_input(row: dict, url: str) -> dict:
    """The input of documents.pdf.render_agreement_pdf from a record row of _approved_agreement()."""
    d = row["data"]
    takes = bool(d.get("takes_hukou_archive"))  # one answer on the form: 单位是否解决户档
    return {
        "agreement_type": row["agreement_type"],
        "agreement_number": row["agreement_number"],
        "graduate": {"name": row["name"], "gender": row["gender"], "id_number_masked": row["id_masked"],
                     "school_name": row["school_name"], "department": row["department"], "major": row["major"],
                     "level": row["level"], "student_number": row["student_number"], "phone": row["phone_masked"]},
        "unit": {"name": d.get("unit_name"), "credit_code": d.get("credit_code"),
                 "nature": UNIT_NATURES.get(d.get("unit_nature"), d.get("unit_nature")),
                 "industry": UNIT_INDUSTRIES.get(d.get("unit_industry"), d.get("unit_industry")),
                 "address": d.get("unit_address"), "contact": d.get("contact_name"),
                 "contact_phone": d.get("contact_phone") or d.get("contact_mobile"), "location": d.get("unit_location")},
        "position": {"title": d.get("position_title"),
                     "job_category": JOB_CATEGORIES.get(d.get("job_category"), d.get("job_category")),
                     "work_location": d.get("work_location"), "salary": d.get("salary"),
                     "start_date": date.fromisoformat(d["report_date"]) if d.get("report_date") else None},
        "supplementary_terms": d.get("supplementary_terms") or "",
        "takes_hukou": takes, "takes_archive": takes,
        "handler": row["handler"],
        "school": {"name": row["school_name"], "address": row["school_address"], "postcode": row["school_postcode"],
                   "phone": row["school_phone"]},
        "verify_url": url,
        "issued_at": clock.now(),
    }


async def _document_row(db, record_id: int) -> dict | None:
    return await db.fetchone("SELECT record_id, agreement_number, storage_name, sha256, verify_token, created_at"
                             " FROM agreement_documents WHERE record_id=%s", (record_id,))


async def ensure_document(db, store: FileStore, public_base_url: str, record_id: int) -> dict:
    """The agreement_documents row of the record, rendering and storing the PDF first when there is none.
    not_found when the record has no approved agreement."""
    existing = await _document_row(db, record_id)
    if existing is not None and store.exists(existing["storage_name"]):
        return existing
    source = await _approved_agreement(db, record_id)
    token = existing["verify_token"] if existing else secrets.token_urlsafe(24)
    pdf = await run_blocking(render_agreement_pdf, agreement_input(source, verify_url(public_base_url, token)))
    name = await run_blocking(store.save, pdf, "pdf")
    sha256 = hashlib.sha256(pdf).hexdigest()
    async with db.cursor() as cur:
        if existing is not None:  # the file went missing: the same token, a new file
            await cur.execute("UPDATE agreement_documents SET storage_name=%s, sha256=%s WHERE record_id=%s",
                              (name, sha256, record_id))
        else:
            await cur.execute(
                "INSERT INTO agreement_documents (record_id, agreement_number, storage_name, sha256, verify_token)"
                " VALUES (%s,%s,%s,%s,%s) ON DUPLICATE KEY UPDATE record_id=record_id",
                (record_id, source["agreement_number"], name, sha256, token))
            if cur.rowcount != 1:  # the job and a reader rendered at once: the first row stays
                store.delete(name)
    return await _document_row(db, record_id)


async def require_pdf_reader(db, actor: Actor, record_id: int) -> None:
    """The graduate, the employer of an online record, and school/department staff who see the record."""
    record = await db.fetchone("SELECT id, kind, graduate_id, school_id, department, level, employer_id FROM records"
                               " WHERE id=%s", (record_id,))
    if record is None or actor.role not in PDF_READERS or not rules.can_see(actor, record):
        raise DomainError("not_found")


async def verification(db, token: str) -> dict:
    """What the public verification page shows: number, masked name, school, unit and status; nothing else."""
    row = await db.fetchone(
        "SELECT d.agreement_number, r.state, r.data, g.name, s.name AS school_name FROM agreement_documents d"
        " JOIN records r ON r.id=d.record_id JOIN graduates g ON g.id=r.graduate_id JOIN schools s ON s.id=r.school_id"
        " WHERE d.verify_token=%s", (token,))
    if row is None:
        raise DomainError("agreement_unknown")
    status, status_text = agreement_status(row["state"])
    return {"agreement_number": row["agreement_number"], "graduate_name": mask_name(row["name"]),
            "school_name": row["school_name"], "unit_name": _data(row).get("unit_name") or "",
            "status": status, "status_text": status_text}


class AgreementDocumentJob:
    """Renders the PDFs the outbox asks for (topic 'document'), with the lease and backoff of server/outbox."""

    def __init__(self, app):
        self.db, self.base = app.db, app.config.public_base_url
        self.store = FileStore(app.config.upload_dir)

    async def run_once(self, batch: int = 20) -> int:
        rendered = 0
        for entry in await claim_due(self.db, "document", batch):
            try:
                await ensure_document(self.db, self.store, self.base, entry["payload"]["record_id"])
            except DomainError as exc:  # the record has no approved agreement (any more): nothing to render
                log.warning("document %s: %s", entry["id"], exc.code)
            except Exception as exc:
                log.exception("rendering the agreement of outbox entry %s failed", entry["id"])
                await mark_retry(self.db, entry, f"{type(exc).__name__}: {exc}")
                continue
            await mark_done(self.db, entry["id"])
            rendered += 1
        return rendered
