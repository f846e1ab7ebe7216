"""Lists that cost the same at any depth and size.

- Keyset pages: a page is "the next N rows after this sort key", read from an index whose equality prefix is
  the scope and filter and whose next columns are the sort key (migrations/0011), never OFFSET over rows.
- The page count comes from a count cached in Redis. A school's or department's list: under the *generation*
  of its school and cohort, which every change of a record and every roster import bumps in its own
  transaction (`bump_generation`), so a cached count is never served after a write it does not include, and
  nothing else invalidates it. A province's or the ministry's list (thousands of schools writing): for a
  minute.
- A jump to page N walks the index from the nearer end (the cached count says which): an index-only OFFSET
  over row ids, at most half the list, instead of reading rows. Only the jump walks; first, previous, next and
  last pages are keyset reads.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

from signing.actors import Actor
from signing.errors import DomainError

HIDDEN_FROM_STAFF = ("draft", "discarded")  # a graduate's drafts are theirs alone (records.listed=0)
# sort name -> the columns of its key, most significant first (the id makes every key unique)
SORTS = {
    "updated": ("r.updated_at", "r.id"),
    "state": ("r.state", "r.updated_at", "r.id"),
    "name": ("r.graduate_name", "r.id"),
}
COUNT_TTL = 3600  # a generation's count: only to clear the counts of generations gone by
WIDE_COUNT_TTL = 60  # the count of a list over several schools may lag their writes by this much


async def bump_generation(cur, school_id: int, cohort: int) -> None:
    """In the transaction of a change to the school's records of that cohort: cached counts are out of date."""
    await cur.execute("INSERT INTO list_generations (school_id, cohort, generation) VALUES (%s,%s,1)"
                      " ON DUPLICATE KEY UPDATE generation=generation+1", (school_id, cohort))


GENERATION = "(SELECT generation FROM list_generations WHERE school_id=%s AND cohort=%s)"


def counted_by_generation(actor: Actor) -> bool:
    return actor.role in ("school", "department")


def generation_column(actor: Actor, cohort: int) -> tuple[str, list]:
    """A column (and its parameters) that reads the generation of the actor's list in the page's own query, so
    that page 1 and the cursor pages, whose rows need no count, find their count's key without a round trip."""
    if not counted_by_generation(actor):
        return "", []
    return f", {GENERATION} AS list_generation", [actor.school_id, cohort]


async def cached_count(db, redis, actor: Actor, cohort: int, source: str, args: list,
                       generation: int | None = None) -> int:
    """COUNT(*) of `source` (FROM … WHERE …), cached. A school's or department's list: under its school's
    generation (read here unless the page's query read it: `generation_column`), so exact after every write. A
    province's or the ministry's: for WIDE_COUNT_TTL seconds (their schools write all the time: under a generation
    they would count again at nearly every request)."""
    if counted_by_generation(actor):
        if generation is None:
            generation = (await db.fetchone(f"SELECT {GENERATION} AS g", [actor.school_id, cohort]))["g"]
        version, ttl = generation or 0, COUNT_TTL
    else:
        version, ttl = "recent", WIDE_COUNT_TTL
    # the database is part of the key: several databases may share one Redis (tests, benches)
    digest = hashlib.sha1(json.dumps([db.params["db"], source, args], default=str, ensure_ascii=False).encode()
                          ).hexdigest()
    key = f"lists:count:{digest}:{version}"
    cached = await redis.get(key)
    if cached is not None:
        return int(cached)
    total = (await db.fetchone(f"SELECT COUNT(*) AS n {source}", args))["n"]
    await redis.set(key, total, ex=ttl)
    return total


def seek(columns: tuple[str, ...], values: list, descending: bool, inclusive: bool = False) -> tuple[str, list]:
    """The rows after `values` in the order of `columns`, written out column by column ((a<x) OR (a=x AND b<y)…)
    so that the range optimizer reads it as ranges of the index."""
    op = "<" if descending else ">"
    parts, args = [], []
    for i, column in enumerate(columns):
        last = i == len(columns) - 1
        parts.append("(" + " AND ".join([*(f"{c}=%s" for c in columns[:i]),
                                          f"{column}{op}{'=' if last and inclusive else ''}%s"]) + ")")
        args.extend(values[:i + 1])
    return "(" + " OR ".join(parts) + ")", args


def order_by(columns: tuple[str, ...], descending: bool) -> str:
    return ", ".join(f"{c} {'DESC' if descending else 'ASC'}" for c in columns)


def key_of(row: dict, columns: tuple[str, ...]) -> list:
    return [row[c.split(".", 1)[1]] for c in columns]


def encode_cursor(page: int, key: list, direction: str) -> str:
    raw = json.dumps({"p": page, "k": [v.isoformat() if isinstance(v, datetime) else v for v in key],
                      "d": direction}, ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: tuple[str, ...]) -> tuple[int, list, str]:
    """(page, key, direction) of a cursor this module wrote for the same sort; anything else is a 400."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        page, key, direction = int(raw["p"]), list(raw["k"]), raw["d"]
        if len(key) != len(columns) or direction not in ("next", "prev") or page < 1 \
                or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in key):
            raise ValueError
        key = [datetime.fromisoformat(v) if c.endswith("_at") else v for c, v in zip(columns, key, strict=True)]
    except (ValueError, TypeError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DomainError("invalid_input", "分页参数无效，请从第一页重新查询") from exc
    return page, key, direction


async def page_of(db, source: str, args: list, outer: str, sort: str, descending: bool, page: int, page_size: int,
                  total: int | None, cursor: str | None = None, outer_args: list = ()) -> tuple[int, list[dict]]:
    """(page number, rows) of one page in list order. The page's ids are found in the index (`source`); `outer`
    (SELECT … FROM ({ids}) page JOIN records r ON r.id=page.id …, with `outer_args` for its own columns) reads
    their columns, sort key included, in the same round trip. `total` is needed only to jump to a page N > 1
    (to walk from the nearer end); without it the page is the cursor's or the first."""
    columns = SORTS[sort]
    select = "SELECT STRAIGHT_JOIN r.id " + source  # records first: the order is read from their index
    if cursor:
        page, key, direction = decode_cursor(cursor, columns)
        ahead = descending != (direction == "prev")
        cond, cond_args = seek(columns, key, ahead)
        ids = f"{select} AND {cond} ORDER BY {order_by(columns, ahead)} LIMIT %s"
        ids_args = [*args, *cond_args, page_size]
    else:
        page = 1 if total is None else min(max(page, 1), max(1, -(-total // page_size)))
        start = (page - 1) * page_size
        if page == 1 or start <= total - start - page_size:  # nearer the first row: walk forward
            ids = f"{select} ORDER BY {order_by(columns, descending)} LIMIT %s OFFSET %s"
            ids_args = [*args, page_size, start]
        else:  # nearer the last row: walk back from it
            ids = f"{select} ORDER BY {order_by(columns, not descending)} LIMIT %s OFFSET %s"
            ids_args = [*args, min(page_size, total - start), max(0, total - start - page_size)]
    rows = await db.fetchall(outer.format(ids=ids) + f" ORDER BY {order_by(columns, descending)}",
                             [*outer_args, *ids_args])
    return page, rows


def cursors(page: int, pages: int, rows: list[dict], sort: str) -> dict:
    """The cursors of the pages before and after this one (None at either end)."""
    columns = SORTS[sort]
    return {"prev": encode_cursor(page - 1, key_of(rows[0], columns), "prev") if rows and page > 1 else None,
            "next": encode_cursor(page + 1, key_of(rows[-1], columns), "next") if rows and page < pages else None}


async def batches(db, source: str, args: list, outer: str, sort: str, descending: bool, size: int = 1000):
    """Every row of the list in list order, `size` at a time, by keyset: a large export never holds more than
    one batch."""
    columns = SORTS[sort]
    key = None
    while True:
        cond, cond_args = seek(columns, key, descending) if key else ("1=1", [])
        ids = f"SELECT STRAIGHT_JOIN r.id {source} AND {cond} ORDER BY {order_by(columns, descending)} LIMIT %s"
        rows = await db.fetchall(outer.format(ids=ids) + f" ORDER BY {order_by(columns, descending)}",
                                 [*args, *cond_args, size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        key = key_of(rows[-1], columns)
