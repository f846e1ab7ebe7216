"""Reading records: one record with its timeline and the caller's actions, and the filtered lists."""
from __future__ import annotations

import json
from datetime import datetime

from signing import clock, lists, rules
from signing import transitions as tt
from signing.actors import Actor
from signing.eligibility import current_cohort
from signing.errors import DomainError
from signing.policy import record_scope
from signing.records_service import RECORD_COLUMNS, decode, load_context
from signing.sql import in_list
from signing.warnings import warning_for

# only what a list shows (each column is decoded for every row of every page); an export adds a few
LIST_COLUMNS = ("r.id, r.kind, r.initiator, r.state, r.audit_stage, r.updated_at, r.department, r.level,"
                " r.graduate_name, JSON_UNQUOTE(JSON_EXTRACT(r.data, '$.unit_name')) AS unit_name,"
                " g.name, g.id_masked, g.major, p.agreement_type")
EXPORT_COLUMNS = LIST_COLUMNS + ", r.agreement_number, r.created_at, g.student_number"


def summarize(row: dict, agreement_type: str | None = None) -> dict:
    agreement_type = agreement_type or row.get("agreement_type")
    row["kind_text"] = tt.KINDS[row["kind"]]
    row["status_text"] = tt.status_text(row["state"], row["audit_stage"], agreement_type)
    for action in row.get("actions", ()):
        action["text"] = tt.verify_wording(action["text"], row["state"], agreement_type)
    return row


async def timeline(cur, record_id: int) -> list[dict]:
    await cur.execute(
        "SELECT id, action, from_state, to_state, role, actor_name, reason, explanation, changes, created_at"
        " FROM record_events WHERE record_id=%s ORDER BY id", (record_id,))
    events = list(await cur.fetchall())
    for e in events:
        e["action_text"] = tt.ACTION_TEXT.get(e["action"], e["action"])
        e["changes"] = json.loads(e["changes"]) if e["changes"] else None
    return events


async def record_detail(db, actor: Actor, record_id: int, now: datetime | None = None, audit_view: bool = False) -> dict:
    """The record as the actor may see it, with its timeline and the actions the actor may take now."""
    now = now or clock.now()
    async with db.cursor() as cur:
        await cur.execute(f"SELECT {RECORD_COLUMNS} FROM records WHERE id=%s", (record_id,))
        record = await cur.fetchone()
        if record is None:
            raise DomainError("not_found")
        record = decode(record)
        ctx = await load_context(cur, record["graduate_id"], now, actor)
        if not rules.can_see(actor, record, ctx.settings["province_code"]):
            raise DomainError("not_found")
        record["actions"] = rules.available_actions(actor, record, ctx)
        record["agreement_type"] = ctx.settings["agreement_type"]
        summarize(record)
        record["timeline"] = await timeline(cur, record_id)
        record["unit_warning"] = await warning_for(cur, actor, record["school_id"],
                                                   (record["data"] or {}).get("credit_code"))
        if record["employer_id"]:
            await cur.execute("SELECT id, name, credit_code, certification FROM employers WHERE id=%s",
                              (record["employer_id"],))
            record["employer"] = await cur.fetchone()
        await cur.execute("SELECT id, kind, width, height, bytes, created_at FROM uploads WHERE record_id=%s ORDER BY id",
                          (record_id,))
        record["uploads"] = list(await cur.fetchall())
        g = ctx.graduate
        record["graduate"] = {"id": g["id"], "name": g["name"], "id_masked": g["id_masked"], "school_name":
                              ctx.settings["school_name"], "department": g["department"], "major": g["major"],
                              "level": g["level"], "status": g["status"]}
        if audit_view:
            record["roster"] = {f: g[f] for f in ("name", "gender", "ethnicity", "political_status", "department",
                                                  "major", "level", "study_length", "student_number",
                                                  "graduation_month", "training_mode", "origin", "phone_masked",
                                                  "email")}
            snapshot = (record["data"] or {}).get("graduate_snapshot") or {}
            record["roster_differences"] = sorted(f for f, v in snapshot.items() if str(record["roster"].get(f)) != str(v))
            record["cancellations_used"] = ctx.cancellations_used
            record["max_cancellations"] = ctx.settings["max_cancellations"]
    return record


def status_choices() -> list[tuple[str, str]]:
    """The state filter as staff read it: one option per status text (states that read the same, such as the
    signing audits of offline signings and of paper registrations, are one option), drafts left out."""
    groups: dict[str, list[str]] = {}
    for state in tt.STATE_TEXT:
        if state not in lists.HIDDEN_FROM_STAFF:
            groups.setdefault(tt.status_text(state, None), []).append(state)
    return [(",".join(states), text) for text, states in groups.items()]


def list_index(actor: Actor, filters: dict, sort: str) -> str | None:
    """The index of migrations/0011 whose prefix is this list's scope and filter and whose next columns are its
    sort key. Named rather than left to the optimizer, which sometimes preferred a covering range of another
    index and a sort of it, which is what a keyset page must never do. None for searches by name or ID number
    (a few rows, sorted)."""
    if filters.get("name") or filters.get("id_hash"):
        return None
    if actor.role in ("school", "department"):
        prefix = "ix_list_dept" if actor.role == "department" or filters.get("department") else "ix_list"
    else:  # several schools: by cohort, the schools read along the way
        prefix = "ix_list_all"
    return (prefix + ("_state" if sort == "state" or one_state(filters) else "")
            + ("_name" if sort == "name" else "_updated"))


def list_source(actor: Actor, filters: dict, id_hash: str | None = None, sort: str = "updated") -> tuple[str, list]:
    """FROM … WHERE … of the staff list: the actor's scope, the cohort and the filters. Records come first
    (STRAIGHT_JOIN) and are read through the index of the filter and sort (list_index), in its order."""
    cond, args = record_scope(actor)
    cond += " AND r.cohort=%s"
    args.append(filters["cohort"])
    for column in ("kind", "initiator", "audit_stage", "department", "level"):
        if filters.get(column) not in (None, ""):
            cond += f" AND r.{column}=%s"
            args.append(filters[column])
    states = filters.get("states") or (filters["state"].split(",") if filters.get("state") else [])
    if len(states) == 1:
        cond += " AND r.state=%s"
        args.append(states[0])
    elif states:
        in_sql, in_args = in_list(states)
        cond += f" AND r.state IN {in_sql}"
        args.extend(in_args)
    if actor.role != "graduate":
        cond += " AND r.listed=1"  # a graduate's drafts are theirs alone
    if filters.get("name"):
        cond += " AND r.graduate_name=%s"
        args.append(filters["name"])
    index = list_index(actor, {**filters, "id_hash": id_hash}, sort)
    table = f"records r FORCE INDEX ({index})" if index else "records r"
    joined = []
    if filters.get("major"):
        joined.append(("g.major=%s", filters["major"]))
    if id_hash:
        joined.append(("g.id_hash=%s", id_hash))
    if not joined:
        return f"FROM {table} WHERE {cond}", args
    return (f"FROM {table} STRAIGHT_JOIN graduates g ON g.id=r.graduate_id WHERE {cond}"
            + "".join(f" AND {c}" for c, _ in joined), [*args, *(v for _, v in joined)])


def sort_key(sort: str, filters: dict) -> str:
    """The sort as the index reads it: by state within one state is by update time (MariaDB would sort the
    rows of a constant column rather than read on)."""
    return "updated" if sort == "state" and one_state(filters) else sort


def one_state(filters: dict) -> bool:
    return bool(filters.get("state")) and "," not in filters["state"] and not filters.get("states")


# the page's records with what the list shows, their ids found first in the index (signing/lists.py)
PAGE_ROWS = ("SELECT {columns} FROM ({{ids}}) page JOIN records r ON r.id=page.id JOIN graduates g ON g.id=r.graduate_id"
             " JOIN schools s ON s.id=r.school_id JOIN provinces p ON p.code=s.province_code")


async def list_records(db, redis, actor: Actor, filters: dict, page: int = 1, page_size: int = 50,
                       id_hash: str | None = None, sort: str = "updated", descending: bool = True,
                       cursor: str | None = None) -> dict:
    """One page of the records in the actor's scope (signing/lists.py: keyset pages, cached count, jump)."""
    filters = {**filters, "cohort": filters.get("cohort") or current_cohort(clock.today())}
    key = sort_key(sort, filters)
    source, args = list_source(actor, filters, id_hash, key)
    jump = not cursor and page > 1  # only a jump needs the count before the rows
    total = await lists.cached_count(db, redis, actor, filters["cohort"], source, args) if jump else None
    generation, generation_args = ("", []) if jump else lists.generation_column(actor, filters["cohort"])
    page, rows = await lists.page_of(db, source, args, PAGE_ROWS.format(columns=LIST_COLUMNS + generation), key,
                                     descending, page, page_size, total, cursor, generation_args)
    if total is None:
        read = (rows[0]["list_generation"] or 0) if rows and generation else None  # an empty page read none
        for row in rows:
            row.pop("list_generation", None)
        total = await lists.cached_count(db, redis, actor, filters["cohort"], source, args, read)
    pages = max(1, -(-total // page_size))
    return {"total": total, "page": page, "pages": pages, "page_size": page_size, "sort": sort,
            "order": "desc" if descending else "asc", **lists.cursors(page, pages, rows, key),
            "items": [summarize(r) for r in rows]}


async def export_batches(db, actor: Actor, filters: dict, id_hash: str | None = None, sort: str = "updated",
                         descending: bool = True, size: int = 1000):
    """The whole filtered list, `size` records at a time (keyset batches: memory stays flat at any size)."""
    filters = {**filters, "cohort": filters.get("cohort") or current_cohort(clock.today())}
    key = sort_key(sort, filters)
    source, args = list_source(actor, filters, id_hash, key)
    async for rows in lists.batches(db, source, args, PAGE_ROWS.format(columns=EXPORT_COLUMNS), key, descending,
                                    size):
        yield [summarize(r) for r in rows]


async def own_records(db, actor: Actor, now: datetime | None = None, limit: int = 500) -> list[dict]:
    """A graduate's or an employer's records, newest first, each with the actions they may take now."""
    now = now or clock.now()
    cond, args = record_scope(actor)
    columns = ", ".join(f"r.{c.strip()}" for c in RECORD_COLUMNS.split(","))
    rows = await db.fetchall(
        f"SELECT {columns}, e.name AS employer_name, g.name, g.id_masked FROM records r"
        " JOIN graduates g ON g.id=r.graduate_id LEFT JOIN employers e ON e.id=r.employer_id"
        f" WHERE {cond} ORDER BY r.id DESC LIMIT %s", [*args, limit])
    contexts = {}
    async with db.cursor() as cur:
        for row in rows:
            decode(row)
            if row["graduate_id"] not in contexts:
                contexts[row["graduate_id"]] = await load_context(cur, row["graduate_id"], now, actor)
            row["actions"] = rules.available_actions(actor, row, contexts[row["graduate_id"]])
            summarize(row, contexts[row["graduate_id"]].settings["agreement_type"])
    return rows
