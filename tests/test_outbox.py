"""Outbox claims: one UPDATE leases a batch, and workers claiming at the same time never share an entry."""
from __future__ import annotations

import asyncio
import json

import pytest

from server.outbox import claim_due

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
