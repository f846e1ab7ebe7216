"""EMS sync: an outage in the middle of a run, then recovery: nothing lost, nothing applied twice, in order."""
from __future__ import annotations

import json

import pytest
from tornado.httpclient import AsyncHTTPClient

from ems.sync import EmsSync
from emulators.ems import make_emulator_app
from tests.flows import DESTINATION, Flow
from tests.support import serving


@pytest.fixture
def ems(io_loop):
    app = make_emulator_app()
    for port in serving(app, io_loop):
        app.url = f"http://127.0.0.1:{port}"
        yield app


async def control(ems, what, body=None):
    await AsyncHTTPClient().fetch(f"{ems.url}/_control/{what}", method="POST", body=json.dumps(body or {}))


async def drain(sync, sql, rounds=20):
    """Run the worker as if time passed: due entries are made due now between rounds."""
    pushed = 0
    for _ in range(rounds):
        sql("UPDATE outbox SET next_attempt_at=NOW(3) WHERE topic='ems_sync' AND status='pending'")
        pushed += await sync.run_once()
    return pushed


async def approved_destinations(f, n):
    ids = []
    for graduate in f.graduates[:n]:
        g = await f.login(graduate["username"])
        rid = (await f.new("destination", client=g, data=DESTINATION, uploads=[f.upload("destination-proof", graduate)])
               ).json["record"]["id"]
        await f.act(f.S, rid, "pass")
        ids.append(rid)
    return ids


@pytest.mark.gen_test
async def test_ems_outage_then_recovery_loses_and_doubles_nothing(app, world, client, sql, ems):
    f = await Flow(world, client, sql).setup(graduates=4)
    sync = EmsSync(app.db, app.vault, ems.url + "/api/sync", timeout=2)
    ids = await approved_destinations(f, 2)
    await control(ems, "fail", {"mode": "down"})
    await sync.run_once()
    failed = sql("SELECT attempts, last_error, status FROM outbox WHERE topic='ems_sync' AND record_id IN (%s,%s)", ids)
    assert all(r["status"] == "pending" and r["attempts"] == 1 and "503" in r["last_error"] for r in failed)
    # more changes arrive during the outage: a void after approval must reach EMS after the approval
    g0 = await f.login(f.graduates[0]["username"])
    await f.act(g0, ids[0], "void")
    await drain(sync, sql, rounds=3)
    assert not ems.state.applied
    await control(ems, "reset")
    await drain(sync, sql)
    mine = {g["id_number"] for g in f.graduates[:2]}
    applied = [a for a in ems.state.applied if a["id_number"] in mine]
    assert len(applied) == 3 and ems.state.duplicates == 0 and not ems.state.out_of_order
    assert ems.state.current[f.graduates[0]["id_number"]]["status"] == "unemployed"  # the void came last
    assert sql("SELECT COUNT(*) n FROM outbox WHERE topic='ems_sync' AND status<>'done'")[0]["n"] == 0


@pytest.mark.gen_test
async def test_lost_acknowledgement_is_retried_and_deduplicated(app, world, client, sql, ems):
    f = await Flow(world, client, sql).setup()
    sync = EmsSync(app.db, app.vault, ems.url + "/api/sync", timeout=2)
    await drain(sync, sql)  # everything older first, so the injected failure hits this graduate's push
    g2 = (await world.graduates(f.school, 1))[0]
    g2c = await f.login(g2["username"])
    rid = (await f.new("destination", client=g2c, uploads=[f.upload("destination-proof", g2)])).json["record"]["id"]
    await f.act(f.S, rid, "pass")
    await control(ems, "fail", {"mode": "ack_lost", "times": 1})
    await sync.run_once()
    assert sql("SELECT status FROM outbox WHERE topic='ems_sync' AND record_id=%s", (rid,))[0]["status"] == "pending"
    await drain(sync, sql)
    assert sql("SELECT status FROM outbox WHERE topic='ems_sync' AND record_id=%s", (rid,))[0]["status"] == "done"
    assert [a["id_number"] for a in ems.state.applied].count(g2["id_number"]) == 1 and ems.state.duplicates == 1


@pytest.mark.gen_test
async def test_later_entry_waits_for_the_earlier_one_of_the_same_graduate(app, world, client, sql, ems):
    f = await Flow(world, client, sql).setup()
    sync = EmsSync(app.db, app.vault, ems.url + "/api/sync", timeout=2)
    [rid] = await approved_destinations(f, 1)
    await f.act(f.G, rid, "void")
    sql("UPDATE outbox SET next_attempt_at=NOW(3) + INTERVAL 1 HOUR WHERE topic='ems_sync' AND record_id=%s"
        " ORDER BY id LIMIT 1", (rid,))
    await sync.run_once()
    assert not [a for a in ems.state.applied if a["id_number"] == f.g["id_number"]]  # the void may not overtake
    await drain(sync, sql)
    assert [a["status"] for a in ems.state.applied if a["id_number"] == f.g["id_number"]] == ["employed", "unemployed"]


@pytest.mark.gen_test
async def test_push_carries_identity_only_at_send_time(app, world, client, sql, ems):
    f = await Flow(world, client, sql).setup()
    await approved_destinations(f, 1)
    stored = sql("SELECT payload FROM outbox WHERE topic='ems_sync'")
    assert all(f.g["id_number"] not in r["payload"] for r in stored)
    sync = EmsSync(app.db, app.vault, ems.url + "/api/sync", timeout=2)
    await drain(sync, sql)
    assert ems.state.applied[-1]["id_number"] == f.g["id_number"]
