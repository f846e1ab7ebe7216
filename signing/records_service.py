"""Applying a transition: one database transaction that loads the record FOR UPDATE, checks the table and
the rules, writes the new state (one row, guarded by state and version), the event, the outbox rows for
notifications and EMS sync, and the operation log."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from server.db import IntegrityError, OperationalError
from server.logs import current_request_id
from signing import clock, rules
from signing import transitions as tt
from signing.actors import Actor
from signing.errors import DomainError
from signing.lists import HIDDEN_FROM_STAFF, bump_generation
from signing.oplog import record_operation
from signing.record_data import (
    apply_changes,
    parse_data,
    require_complete_agreement,
    require_complete_destination,
)
from signing.sql import in_list

DUPLICATE_KEY, DEADLOCK, LOCK_WAIT = 1062, 1213, 1205
RECORD_COLUMNS = ("id, kind, graduate_id, school_id, cohort, department, level, employer_id, initiator, state,"
                  " audit_stage, audit_touched, in_flow, agreement_number, deadline, data, cancellation, version,"
                  " created_at, updated_at")
ENTRY_ACTIONS = {"save", "submit", "invite"}  # actions that create a record from NEW
# Actions whose submission pins the graduate's roster data onto the record (the audit compares it with EMS).
SNAPSHOT_FIELDS = ("name", "gender", "ethnicity", "political_status", "department", "major", "level", "study_length",
                   "student_number", "graduation_month", "training_mode", "origin")


@dataclass
class ActionInput:
    version: int | None = None
    reason: str | None = None
    explanation: str | None = None
    data: dict | None = None
    changes: dict | None = None
    upload_ids: list[int] = field(default_factory=list)
    deadline: datetime | None = None
    # further writes that belong to the same change, run inside its transaction: (cursor, record id)
    also: Callable[[object, int], Awaitable[None]] | None = None


async def perform(db, actor: Actor, record_id: int, action: str, inp: ActionInput, now: datetime | None = None) -> int:
    """An action on an existing record. Returns the record id."""
    return await _with_retry(db, lambda cur: _apply(cur, actor, action, inp, now or clock.now(), record_id=record_id))


async def start(db, actor: Actor, kind: str, action: str, graduate_id: int, inp: ActionInput,
                now: datetime | None = None) -> int:
    """A new record (draft, submission or invitation). Returns its id."""
    if kind not in tt.KINDS or action not in ENTRY_ACTIONS:
        raise DomainError("unknown_action")
    return await _with_retry(db, lambda cur: _apply(cur, actor, action, inp, now or clock.now(),
                                                    kind=kind, graduate_id=graduate_id))


async def _with_retry(db, work, attempts: int = 4):
    """InnoDB may pick a concurrent transaction as a deadlock victim: run it again, from the start."""
    for attempt in range(attempts):
        try:
            async with db.transaction() as cur:
                return await work(cur)
        except OperationalError as exc:
            if exc.args[0] not in (DEADLOCK, LOCK_WAIT) or attempt == attempts - 1:
                raise DomainError("conflict") from exc


# What the rules need beside the graduate's row, as columns prefixed `ctx_` (split off into Context.settings):
# the province's and school's settings, the cancellations the graduate has used and their active record.
CONTEXT_COLUMNS = (
    "p.module_employment AS ctx_module_employment, p.agreement_type AS ctx_agreement_type,"
    " s.code AS ctx_school_code, s.name AS ctx_school_name, s.province_code AS ctx_province_code,"
    " ss.online_signing AS ctx_online_signing, ss.audit_mode AS ctx_audit_mode,"
    " ss.max_cancellations AS ctx_max_cancellations, ss.first_action_at AS ctx_first_action_at,"
    " (SELECT COUNT(*) FROM record_events e JOIN records r ON r.id=e.record_id WHERE r.graduate_id=g.id"
    "  AND e.role='graduate' AND e.action IN ('request_cancel','apply_cancel')) AS ctx_cancellations_used,"
    " (SELECT id FROM records WHERE active_graduate_id=g.id) AS ctx_active_record_id")
CONTEXT_FROM = (" FROM graduates g JOIN schools s ON s.id=g.school_id JOIN provinces p ON p.code=s.province_code"
                " LEFT JOIN school_settings ss ON ss.school_id=g.school_id AND ss.cohort=g.cohort WHERE g.id=%s")
EMPLOYER_CERTIFICATION = ", (SELECT certification FROM employers WHERE id=%s) AS ctx_employer_certification"


async def load_context(cur, graduate_id: int, now: datetime, actor: Actor | None = None, lock: bool = False) -> rules.Context:
    """The graduate and everything the rules weigh, in one query (two when `lock`: the graduate's row is then read
    by its own locking read, so that it is the latest version and stays so until the commit)."""
    columns, args = CONTEXT_COLUMNS, [graduate_id]
    if actor is not None and actor.role == "employer":
        columns, args = columns + EMPLOYER_CERTIFICATION, [actor.employer_id, graduate_id]
    if lock:
        await cur.execute("SELECT * FROM graduates WHERE id=%s LOCK IN SHARE MODE", (graduate_id,))
        graduate = await cur.fetchone()
        await cur.execute(f"SELECT {columns}{CONTEXT_FROM}", args)
        row = await cur.fetchone()
    else:  # one row: the graduate's columns and the ctx_ ones
        await cur.execute(f"SELECT g.*, {columns}{CONTEXT_FROM}", args)
        graduate = row = await cur.fetchone()
    if graduate is None or row is None:
        raise DomainError("not_found")
    settings = {key[4:]: row.pop(key) for key in [k for k in row if k.startswith("ctx_")]}
    settings["audit_mode"] = settings["audit_mode"] or "school"
    settings["max_cancellations"] = 3 if settings["max_cancellations"] is None else settings["max_cancellations"]
    return rules.Context(graduate=graduate, settings=settings, now=now,
                         cancellations_used=settings.pop("cancellations_used"),
                         active_record_id=settings.pop("active_record_id"))


def decode(record: dict) -> dict:
    for column in ("data", "cancellation"):
        if isinstance(record.get(column), str | bytes):
            record[column] = orjson.loads(record[column])  # every record of a list: several times json's speed
    return record


async def _apply(cur, actor: Actor, action: str, inp: ActionInput, now: datetime, record_id: int | None = None,
                 kind: str | None = None, graduate_id: int | None = None) -> int:
    if record_id is not None:
        await cur.execute(f"SELECT {RECORD_COLUMNS} FROM records WHERE id=%s FOR UPDATE", (record_id,))
        record = await cur.fetchone()
        if record is None:
            raise DomainError("not_found")
        record = decode(record)
        graduate_id = record["graduate_id"]
    ctx = await load_context(cur, graduate_id, now, actor, lock=True)
    g = ctx.graduate
    if record_id is None:
        record = {"id": None, "kind": kind, "graduate_id": g["id"], "graduate_name": g["name"],
                  "school_id": g["school_id"], "cohort": g["cohort"],
                  "department": g["department"], "level": g["level"], "employer_id": actor.employer_id,
                  "initiator": "employer" if actor.role == "employer" else "graduate", "state": tt.NEW,
                  "audit_stage": None, "audit_touched": 0, "deadline": inp.deadline, "data": {},
                  "cancellation": None, "version": 0}
    if not rules.can_see(actor, record, ctx.settings["province_code"]):
        raise DomainError("not_found")
    t = rules.transition_for(actor, record, action)
    rules.check(t, actor, record, ctx)
    if inp.version is not None and record_id is not None and inp.version != record["version"]:
        raise DomainError("stale_version")
    rules.check_needs(t, inp.reason, inp.explanation, inp.data is not None, bool(inp.changes), inp.upload_ids)

    data, changes = await _new_data(cur, t, record, inp, g)
    next_state, stage = tt.resolve_next(t, ctx.first_audit_stage, record["audit_stage"])
    touched = 0 if t.next_state.startswith("@") else int(actor.role in tt.AUDITORS or record["audit_touched"])
    cancellation = _cancellation(t, actor, record, inp, now)
    # the roster data the audit compares with EMS: taken at submission, and again on 获取最新学生信息
    if t.next_state in ("@online_audit", "@agreement_audit", "@registration_audit", "@destination_audit") \
            or t.action == "refresh_graduate":
        data = {**data, "graduate_snapshot": {f: _plain(g[f]) for f in SNAPSHOT_FIELDS}}
    agreement_number = record.get("agreement_number")
    if next_state in ("agreement_approved",) or (next_state == "signed" and record["kind"] == "online"):
        agreement_number = agreement_number or f"WQ{record['cohort']}{ctx.settings['school_code']}"

    values = {
        "state": next_state, "listed": int(next_state not in HIDDEN_FROM_STAFF), "audit_stage": stage,
        "audit_touched": touched, "in_flow": int(tt.is_in_flow(next_state)),
        "active_graduate_id": g["id"] if tt.is_active(next_state) else None,
        "pending_invitation": f"{record['employer_id']}:{g['id']}" if next_state == "invited" else None,
        "data": json.dumps(data, ensure_ascii=False, default=str),
        "cancellation": json.dumps(cancellation, ensure_ascii=False, default=str) if cancellation else None,
        "deadline": record["deadline"],
    }
    try:
        if record_id is None:
            columns = ["kind", "graduate_id", "graduate_name", "school_id", "cohort", "department", "level",
                       "employer_id", "initiator", *values]
            await cur.execute(
                f"INSERT INTO records ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                [record[c] for c in columns[:9]] + list(values.values()))
            record_id = cur.lastrowid
        else:
            sets = ", ".join(f"{c}=%s" for c in values)
            await cur.execute(f"UPDATE records SET {sets}, version=version+1 WHERE id=%s AND state=%s AND version=%s",
                              [*values.values(), record_id, record["state"], record["version"]])
            if cur.rowcount != 1:
                raise DomainError("conflict")
    except IntegrityError as exc:
        if exc.args[0] == DUPLICATE_KEY and "uq_record_active" in str(exc):
            raise DomainError("active_record_exists") from exc
        if exc.args[0] == DUPLICATE_KEY and "uq_record_pending_invitation" in str(exc):
            raise DomainError("invitation_pending") from exc
        raise
    if agreement_number and not record.get("agreement_number"):
        agreement_number = f"{agreement_number}{record_id:08d}"
        await cur.execute("UPDATE records SET agreement_number=%s WHERE id=%s", (agreement_number, record_id))
    record["agreement_number"] = agreement_number
    if inp.upload_ids:
        await _attach_uploads(cur, actor, g["id"], record_id, inp.upload_ids)

    await cur.execute(
        "INSERT INTO record_events (record_id, action, from_state, to_state, user_id, role, actor_name, reason,"
        " explanation, changes) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        (record_id, t.action, record["state"], next_state, actor.user_id, actor.role, actor.name, inp.reason,
         (inp.explanation or None), json.dumps(changes, ensure_ascii=False, default=str) if changes else None))
    event_id = cur.lastrowid
    record.update(id=record_id, state=next_state, audit_stage=stage, data=data)
    await _write_outbox(cur, t, actor, record, event_id, inp, changes, ctx)
    if inp.also is not None:
        await inp.also(cur, record_id)
    if actor.role in ("graduate", "employer", "employer_link") and ctx.settings["first_action_at"] is None:
        await cur.execute("UPDATE school_settings SET first_action_at=%s WHERE school_id=%s AND cohort=%s"
                          " AND first_action_at IS NULL", (now, g["school_id"], g["cohort"]))
    await record_operation(
        cur, actor, f"record.{t.action}", "record", record_id,
        f"{tt.KINDS[record['kind']]}：{g['name'][0]}*（{g['id_masked']}）{tt.ACTION_TEXT[t.action]}，"
        f"状态：{tt.status_text(next_state, stage)}" + (f"，原因：{inp.reason}" if inp.reason else ""),
        school_id=g["school_id"], province_code=ctx.settings["province_code"])
    # last, so that the school's generation row is locked only for the commit: cached list counts are stale now
    await bump_generation(cur, record["school_id"], record["cohort"])
    return record_id


async def _new_data(cur, t: tt.Transition, record: dict, inp: ActionInput, graduate: dict) -> tuple[dict, dict | None]:
    data, changes = dict(record["data"] or {}), None
    if "data" in t.needs:
        data = {**parse_data(record["kind"], inp.data or {}),
                **({"graduate_snapshot": data["graduate_snapshot"]} if "graduate_snapshot" in data else {})}
    if "changes" in t.needs:
        editable = ("type_code", "fields", "note") if record["kind"] == "destination" else t.editable
        data, changes = apply_changes(data, inp.changes or {}, editable)
        snapshot = data.pop("graduate_snapshot", None)
        data = parse_data(record["kind"], data)
        if snapshot:
            data["graduate_snapshot"] = snapshot
    if t.next_state.startswith("@") or t.action == "invite" or "changes" in t.needs:
        await _require_complete(cur, record["kind"], data, graduate)
        if t.next_state.startswith("@") and t.state in (tt.NEW, "draft") or t.action == "submit":
            await _require_proofs(cur, record, data, inp.upload_ids)
    return data, changes


async def _require_proofs(cur, record: dict, data: dict, upload_ids: list[int]) -> None:
    """A paper registration needs the stamped agreement's image; a destination the proofs its type requires."""
    if record["kind"] == "paper":
        needed = "paper-agreement"
    elif record["kind"] == "destination":
        await cur.execute("SELECT proof_required FROM destination_types WHERE code=%s", (data.get("type_code"),))
        if not (await cur.fetchone() or {}).get("proof_required"):
            return
        needed = "destination-proof"
    else:
        return
    if upload_ids:
        in_sql, args = in_list(upload_ids)
        await cur.execute(f"SELECT COUNT(*) AS n FROM uploads WHERE id IN {in_sql} AND kind=%s", [*args, needed])
        if (await cur.fetchone())["n"]:
            return
    if record["id"] is not None:
        await cur.execute("SELECT COUNT(*) AS n FROM uploads WHERE record_id=%s AND kind=%s", (record["id"], needed))
        if (await cur.fetchone())["n"]:
            return
    raise DomainError("upload_required", "请上传盖章的纸质就业协议书图像" if needed == "paper-agreement"
                      else "请上传该去向类型要求的证明材料")


async def _require_complete(cur, kind: str, data: dict, graduate: dict) -> None:
    if kind != "destination":
        require_complete_agreement(data)
        return
    await cur.execute("SELECT * FROM destination_types WHERE code=%s", (data.get("type_code"),))
    dtype = await cur.fetchone()
    if dtype is not None:
        dtype["fields"] = json.loads(dtype["fields"])
        supplementary_only = graduate["training_mode"] in ("21", "41")
        if bool(dtype["supplementary_only"]) != supplementary_only:
            raise DomainError("destination_type_not_allowed")
    require_complete_destination(data, dtype)


def _cancellation(t: tt.Transition, actor: Actor, record: dict, inp: ActionInput, now: datetime) -> dict | None:
    """The current cancellation application: set when applied, kept through its answer and audit."""
    if t.action in ("request_cancel", "apply_cancel", "resubmit_cancel"):
        return {"by": actor.role, "reason": inp.reason, "explanation": inp.explanation,
                "upload_ids": inp.upload_ids or (record.get("cancellation") or {}).get("upload_ids", []),
                "applied_at": now.strftime("%Y-%m-%d %H:%M:%S")}
    if t.next_state.lstrip("@") in ("signed", "registered") and t.state != "signed":
        return None  # refused, rejected or abandoned: the agreement stands, the application is closed
    return record.get("cancellation")


async def _attach_uploads(cur, actor: Actor, graduate_id: int, record_id: int, upload_ids: list[int]) -> None:
    in_sql, args = in_list(upload_ids)
    await cur.execute(
        f"SELECT id, graduate_id, record_id FROM uploads WHERE id IN {in_sql} FOR UPDATE", args)
    rows = await cur.fetchall()
    if len(rows) != len(set(upload_ids)) or any(
            r["graduate_id"] != graduate_id or r["record_id"] not in (None, record_id) for r in rows):
        raise DomainError("upload_not_found")
    await cur.execute(f"UPDATE uploads SET record_id=%s WHERE id IN {in_sql}", [record_id, *args])


async def _write_outbox(cur, t: tt.Transition, actor: Actor, record: dict, event_id: int, inp: ActionInput,
                        changes: dict | None, ctx: rules.Context) -> None:
    """Notifications and EMS pushes leave only through the outbox, written in this same transaction."""
    g = ctx.graduate
    rows = []
    if t.notify:
        rows.append(("notify", f"notify:{event_id}", {
            "template": t.notify, "record_id": record["id"], "event_id": event_id, "kind": record["kind"],
            "kind_text": tt.KINDS[record["kind"]], "action": t.action, "action_text": tt.ACTION_TEXT[t.action],
            "state": record["state"],
            "status_text": tt.status_text(record["state"], record["audit_stage"], ctx.settings["agreement_type"]),
            "unit_name": (record["data"] or {}).get("unit_name") or (record["data"] or {}).get("fields", {}).get("unit_name"),
            "from_state": t.state, "agreement_type": ctx.settings["agreement_type"],
            "actor_role": actor.role, "reason": inp.reason, "explanation": inp.explanation,
            "changed_fields": sorted(changes) if changes else [], "sms": t.notify == "record_edited",
            "link": f"/wx/records/{record['id']}", "deadline": record.get("deadline"),
        }))
    if t.ems:
        rows.append(("ems_sync", f"ems:{event_id}", {
            "record_id": record["id"], "event_id": event_id, "kind": record["kind"],
            "status": "employed" if t.ems == "destination" else "unemployed",
            "destination": _ems_destination(record) if t.ems == "destination" else {"code": "70", "name": "待就业"},
        }))
    if t.document:  # the agreement is approved: its PDF is rendered by documents.agreements.AgreementDocumentJob
        rows.append(("document", f"document:{event_id}", {"record_id": record["id"]}))
    for topic, key, payload in rows:
        await cur.execute(
            "INSERT INTO outbox (topic, idempotency_key, graduate_id, record_id, event_id, payload, request_id)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s)",
            (topic, key, g["id"], record["id"], event_id, json.dumps(payload, ensure_ascii=False, default=str),
             current_request_id()))


def _ems_destination(record: dict) -> dict:
    data = record["data"] or {}
    if record["kind"] == "destination":
        return {"code": data.get("type_code"), "fields": data.get("fields", {})}
    return {"code": "10", "name": "签就业协议形式就业", "agreement_number": record.get("agreement_number"),
            "unit_name": data.get("unit_name"), "credit_code": data.get("credit_code"),
            "unit_nature": data.get("unit_nature"), "unit_industry": data.get("unit_industry"),
            "unit_location": data.get("unit_location"), "job_category": data.get("job_category")}


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
