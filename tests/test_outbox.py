"""Outbox claims: one UPDATE leases a batch, and workers claiming at the same time never share an entry."""
from __future__ import annotations

import asyncio
import json

import pytest

from server.outbox import _DUE, claim_due

GRADUATES = range(9_100_000, 9_100_060)  # ids no other test uses (the outbox has no foreign keys)


@pytest.mark.gen_test(timeout=60)
async def test_thirty_parallel_claims_take_each_entry_exactly_once(app, sql):
    for g in GRADUATES:  # two entries per graduate: only the earlier is due while it is pending
        for n in (1, 2):
            sql("INSERT INTO outbox (topic, idempotency_key, graduate_id, payload) VALUES ('ems_sync', %s, %s, %s)",
                (f"claim-test:{g}:{n}", g, json.dumps({"n": n})))
    claimed, rounds = [], 0
    while rounds < 20:  # rounds of 30 claims at once until every first entry is leased
        rounds += 1
        claims = await asyncio.gather(*(claim_due(app.db, "ems_sync", 4) for _ in range(30)))
        batch = [e for b in claims for e in b]
        others = [e["id"] for e in batch if e["graduate_id"] not in GRADUATES]
        if others:  # entries other tests left pending: handed back as they were
            marks = ",".join(["%s"] * len(others))
            sql(f"UPDATE outbox SET next_attempt_at=NOW(3), lease_token=NULL WHERE id IN ({marks})", others)
        mine = [e for e in batch if e["graduate_id"] in GRADUATES]
        if not mine:
            break
        claimed += mine
    ids = [e["id"] for e in claimed]
    assert len(ids) == len(set(ids)) == len(GRADUATES)  # each graduate's first entry, in exactly one claim
    assert all(e["payload"] == {"n": 1} for e in claimed)  # a graduate's later entry waits for the earlier
    assert rounds <= 10  # the 30 share the work: about 5 rounds; all picking the same oldest rows took 16
    leased = sql("SELECT id FROM outbox WHERE graduate_id BETWEEN %s AND %s AND next_attempt_at>NOW(3)"
                 " AND lease_token IS NOT NULL", (GRADUATES[0], GRADUATES[-1]))
    assert {r["id"] for r in leased} == set(ids)  # every claimed entry leased, nothing else
    sql("DELETE FROM outbox WHERE graduate_id BETWEEN %s AND %s", (GRADUATES[0], GRADUATES[-1]))


BACKLOG = range(9_200_000, 9_200_500)  # 500 graduates with a backlog: done entries, then pending ones


@pytest.mark.gen_test(timeout=60)
async def test_claims_read_an_index_in_order_whatever_the_backlog(app, sql):
    """A backlog after an outage must not make each claim slower (migration 0013): the outbox's and the
    deliveries' claims read the pending rows in id order from an index and stop at the batch, with no sort of
    every pending row, and the outbox's "earliest pending entry of the graduate" is one index lookup."""
    rows = [("ems_sync", f"backlog:{g}:{n}", g, json.dumps({"n": n}), "done" if n < 3 else "pending")
            for g in BACKLOG for n in range(6)]
    marks = ",".join(["(%s,%s,%s,%s,%s)"] * len(rows))
    sql(f"INSERT INTO outbox (topic, idempotency_key, graduate_id, payload, status) VALUES {marks}",
        [v for row in rows for v in row])
    try:
        sql("ANALYZE TABLE outbox, deliveries")
        plan = sql("EXPLAIN " + _DUE, ("ems_sync", 800))
        outer, inner = plan[0], plan[1]
        assert outer["key"] == "ix_outbox_pending" and "filesort" not in (outer["Extra"] or ""), plan
        assert inner["key"] == "ix_outbox_graduate_pending" and "Using index" in inner["Extra"], plan
        claim = sql("EXPLAIN SELECT id FROM deliveries WHERE status='pending' AND next_attempt_at<=NOW(3)"
                    " ORDER BY id LIMIT 200")
        assert claim[0]["key"] == "ix_delivery_pending" and "filesort" not in (claim[0]["Extra"] or ""), claim
        # and what it claims: the earliest pending entry of each graduate, never a later one
        claimed = [e for e in await claim_due(app.db, "ems_sync", 200) if e["graduate_id"] in BACKLOG]
        assert claimed and all(e["payload"] == {"n": 3} for e in claimed)
        assert len({e["graduate_id"] for e in claimed}) == len(claimed)
    finally:
        sql("DELETE FROM outbox WHERE graduate_id BETWEEN %s AND %s", (BACKLOG[0], BACKLOG[-1]))
