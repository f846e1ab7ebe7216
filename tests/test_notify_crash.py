"""A worker killed in the middle of a batch loses nothing and, restarted, sends each message once.
Nor does a crash after the provider accepted: WeChat de-duplicates by client_msg_id, and an SMS in doubt is
looked up with QuerySendDetails before it is sent again."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time

import pytest

from notify.delivery import IN_DOUBT, SMS_CONFIRMED
from server.app import ROOT
from tests import test_notify_support as support
from tests.flows import Flow
from tests.test_notify_support import bind, deliveries, drain, sms_fail, sms_received, wechat_received

start_emulator, emulator, sms_emulator, app, notifier = (
    support.start_emulator, support.emulator, support.sms_emulator, support.app, support.notifier)


def worker_env(config) -> dict:
    env = {f.name.upper(): str(getattr(config, f.name)) for f in dataclasses.fields(config)}
    return {**os.environ, **env, "PYTHONPATH": str(ROOT)}


async def wait_for(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.gen_test(timeout=90)
async def test_worker_killed_mid_batch_loses_nothing_and_sends_each_message_once(
        world, client, sql, app, emulator, sms_emulator, notifier):
    f = await Flow(world, client, sql).setup(graduates=6)
    await notifier.run_once()  # older work of other tests first: the worker below sees only ours
    for g in f.graduates:  # not bound to WeChat: each invitation becomes one SMS
        assert (await f.invite(graduate=g)).status in (200, 201)
    phones = [g["phone"] for g in f.graduates]
    ids = [g["id"] for g in f.graduates]
    await sms_fail(sms_emulator, mode="timeout", phone=phones[2])  # the third SMS hangs: Aliyun never answers

    # The real worker, one message at a time, killed (SIGKILL: no cleanup) while the third is in flight.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "notify.worker", "--concurrency", "1", "--interval", "0.1",
        cwd=str(ROOT), env=worker_env(app.config), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    marks = ",".join(["%s"] * len(ids))

    def first_two_sent():  # their outcomes are written within 20 ms, while the third call hangs
        return sql(f"SELECT COUNT(*) AS n FROM deliveries WHERE channel='sms' AND status='sent'"
                   f" AND graduate_id IN ({marks})", ids)[0]["n"] == 2
    try:  # the hanging request has reached "Aliyun", after the first two were sent
        await wait_for(lambda: not sms_emulator.failures and first_two_sent())
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    rows = {r["graduate_id"]: r for r in sql(f"SELECT * FROM deliveries WHERE channel='sms' AND graduate_id IN ({marks})",
                                             ids)}
    assert [rows[i]["status"] for i in ids[:2]] == ["sent", "sent"]
    assert rows[ids[2]]["sending_since"] is not None  # in flight when killed: its outcome was never written
    # claimed and marked together with the third (one commit a claim), never sent: in doubt as it is
    assert all(rows[i]["lease_token"] and rows[i]["sending_since"] is not None for i in ids[3:])
    assert [len(await sms_received(sms_emulator, p)) for p in phones] == [1, 1, 0, 0, 0, 0]

    # A fresh worker, once the leases have run out (made due now, as if the minute had passed).
    await drain(notifier, sql, ids)
    assert [len(await sms_received(sms_emulator, p)) for p in phones] == [1, 1, 1, 1, 1, 1]
    after = {r["graduate_id"]: r for r in sql(f"SELECT * FROM deliveries WHERE channel='sms' AND graduate_id IN ({marks})",
                                              ids)}
    assert all(r["status"] == "sent" for r in after.values())
    assert after[ids[0]]["provider_id"] == rows[ids[0]]["provider_id"]  # not sent again
    # each in-doubt SMS was looked up by its OutId (QuerySendDetails), not found, then sent: once
    assert all(after[i]["attempts"] == 2 and after[i]["last_error"] == IN_DOUBT for i in ids[2:])


@pytest.mark.gen_test(timeout=30)
async def test_a_crash_after_wechat_accepted_sends_no_duplicate(world, client, sql, emulator, notifier):
    """WeChat took the message, then the worker died before writing 'sent'. On restart the outcome is unknown;
    the message is sent again with the same client_msg_id, and WeChat (its emulator) sends it only once."""
    f = await Flow(world, client, sql).setup()
    await bind(sql, emulator, f.g)
    await f.invite()
    await drain(notifier, sql, [f.g["id"]])
    [first] = deliveries(sql, f.g["id"])
    sql("UPDATE deliveries SET status='pending', sending_since=NOW(3), lease_token='dead-worker-0001',"
        " next_attempt_at=NOW(3) WHERE graduate_id=%s", (f.g["id"],))  # as the crash would have left it
    await notifier.run_once()
    [row] = deliveries(sql, f.g["id"])
    assert row["status"] == "sent" and row["last_error"] == IN_DOUBT and row["attempts"] == 2
    assert row["provider_id"] == first["provider_id"]  # WeChat answered with the msgid of the first send
    assert len(await wechat_received(emulator, f.g["openid"])) == 1


@pytest.mark.gen_test(timeout=30)
async def test_a_crash_after_aliyun_accepted_sends_no_duplicate(world, client, sql, sms_emulator, notifier):
    """Aliyun took the SMS, then the worker died before writing 'sent': QuerySendDetails finds its OutId, so the
    delivery is marked sent without a second SMS. A message that had not gone out is sent (exactly once)."""
    f = await Flow(world, client, sql).setup(graduates=2)
    for g in f.graduates:  # not bound to WeChat: each invitation is one SMS
        assert (await f.invite(graduate=g)).status == 201
    ids = [g["id"] for g in f.graduates]
    await drain(notifier, sql, ids)
    sent, lost = f.graduates
    sms_emulator.messages = [m for m in sms_emulator.messages if m.phone != lost["phone"]]  # never reached Aliyun
    sql("UPDATE deliveries SET status='pending', sending_since=NOW(3), lease_token='dead-worker-0002',"
        f" next_attempt_at=NOW(3) WHERE channel='sms' AND graduate_id IN ({ids[0]}, {ids[1]})")
    await notifier.run_once()
    rows = {r["graduate_id"]: r for r in sql(
        f"SELECT * FROM deliveries WHERE channel='sms' AND graduate_id IN ({ids[0]}, {ids[1]})")}
    assert rows[sent["id"]]["status"] == "sent" and rows[sent["id"]]["last_error"] == SMS_CONFIRMED
    assert rows[sent["id"]]["attempts"] == 1
    assert rows[lost["id"]]["status"] == "sent" and rows[lost["id"]]["attempts"] == 2
    assert len(await sms_received(sms_emulator, sent["phone"])) == 1
    assert len(await sms_received(sms_emulator, lost["phone"])) == 1


@pytest.mark.gen_test(timeout=30)
async def test_a_lost_lease_is_never_sent_by_its_old_holder(world, client, sql, emulator, notifier):
    f = await Flow(world, client, sql).setup()
    await bind(sql, emulator, f.g)
    await f.invite()
    await notifier.expand_due()
    [row] = deliveries(sql, f.g["id"])
    stale = {**row, "token": "old-holder-00001", "message": {}, "sending_since": None}
    assert not await notifier.start_attempt(stale, "o***")  # another worker holds it now
    await notifier.run_once()
    assert len(await wechat_received(emulator, f.g["openid"])) == 1


@pytest.mark.gen_test(timeout=60)
async def test_outcomes_written_together_go_each_to_its_own_row_and_only_under_its_lease(
        world, client, sql, app, emulator, notifier):
    """write_finished writes a batch of outcomes in one statement: each row gets its own status, error, provider
    id and next attempt, and a row whose lease another worker holds now is left as that worker has it."""
    from notify.delivery import write_finished
    f = await Flow(world, client, sql).setup(graduates=3)
    await notifier.run_once()  # older work of other tests first
    for g in f.graduates:  # not bound to WeChat: each invitation is one SMS delivery
        assert (await f.invite(graduate=g)).status in (200, 201)
    await notifier.expand_due()
    sent, retried, taken = (deliveries(sql, g["id"])[0] for g in f.graduates)
    ids = [sent["id"], retried["id"], taken["id"]]
    sql("UPDATE deliveries SET lease_token='our-lease-000001' WHERE id IN (%s,%s,%s)", ids)
    sql("UPDATE deliveries SET lease_token='their-lease-0001' WHERE id=%s", (taken["id"],))
    async with app.db.transaction() as cur:
        await write_finished(cur, [
            (sent["id"], "our-lease-000001", "sent", None, "P-1", "139****0001", 0),
            (retried["id"], "our-lease-000001", "pending", "短信 isv.BUSINESS_LIMIT_CONTROL", None, None, 60_000_000),
            (taken["id"], "our-lease-000001", "failed", "过期的结果", None, None, 0)])
    rows = {r["id"]: r for r in sql("SELECT *, TIMESTAMPDIFF(SECOND, NOW(3), next_attempt_at) AS wait"
                                    " FROM deliveries WHERE id IN (%s,%s,%s)", ids)}
    assert (rows[sent["id"]]["status"], rows[sent["id"]]["provider_id"], rows[sent["id"]]["recipient_masked"],
            rows[sent["id"]]["lease_token"]) == ("sent", "P-1", "139****0001", None)
    assert rows[sent["id"]]["sent_at"] is not None and rows[sent["id"]]["last_error"] is None
    assert (rows[retried["id"]]["status"], rows[retried["id"]]["last_error"], rows[retried["id"]]["sent_at"],
            rows[retried["id"]]["lease_token"]) == ("pending", "短信 isv.BUSINESS_LIMIT_CONTROL", None, None)
    assert 55 <= rows[retried["id"]]["wait"] <= 60
    assert (rows[taken["id"]]["status"], rows[taken["id"]]["lease_token"], rows[taken["id"]]["last_error"]) == (
        "pending", "their-lease-0001", None)


@pytest.mark.gen_test(timeout=60)
async def test_a_round_that_fails_to_send_still_finishes_the_expansion_beside_it(world, client, sql, emulator, notifier):
    """run_once expands the next outbox batch while it sends: when the sending fails (the database went away, say),
    the expansion beside it is finished and committed, never cancelled half-way, and the failure is raised."""
    f = await Flow(world, client, sql).setup()
    await notifier.run_once()  # older work of other tests first
    await f.invite()
    assert deliveries(sql, f.g["id"]) == []

    async def failing_send():
        await asyncio.sleep(0)  # the expansion is under way
        raise RuntimeError("lost the database")
    notifier.send_due = failing_send
    with pytest.raises(RuntimeError):
        await notifier.run_once()
    assert [d["status"] for d in deliveries(sql, f.g["id"])] == ["pending"]
    assert sql("SELECT status FROM outbox WHERE graduate_id=%s AND topic='notify'", (f.g["id"],))[-1]["status"] == "done"
