"""Regression tests over HTTP for effects tied to the resulting state change, not to an action's name:
a department pass tells EMS nothing, the SMS names the stage that decided and carries the reason, actions
offered are actions that can succeed, and every page opens on the cohort that is signing."""
from __future__ import annotations

import json

import pytest

from signing import clock
from signing.eligibility import current_cohort
from tests import test_notify_support as support
from tests.flows import CANCEL, REJECT, UNIT, Flow
from tests.test_notify_support import drain, sms_received

start_emulator, emulator, sms_emulator, app, notifier = (
    support.start_emulator, support.emulator, support.sms_emulator, support.app, support.notifier)


def ems_pushes(f, record_id) -> list[dict]:
    return [json.loads(r["payload"]) for r in f.outbox(record_id, "ems_sync")]


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("kind", ["offline", "paper"])
async def test_department_pass_pushes_nothing_to_ems_and_a_school_return_leaves_ems_untouched(
        world, client, sql, kind):
    f = await Flow(world, client, sql).setup(audit_mode="department_then_school")
    uploads = [f.upload("paper-agreement")] if kind == "paper" else []
    rid = (await f.new(kind, uploads=uploads)).json["record"]["id"]
    passed = await f.act(f.D, rid, "pass")
    assert passed.status == 200 and passed.json["record"]["audit_stage"] == "school"
    assert ems_pushes(f, rid) == [] and not f.outbox(rid, "document")
    assert (await f.act(f.S, rid, "return", **REJECT)).status == 200
    assert ems_pushes(f, rid) == []
    assert (await f.act(f.G, rid, "submit", data=UNIT)).status == 200
    assert (await f.act(f.D, rid, "pass")).status == 200
    assert (await f.act(f.S, rid, "pass")).status == 200
    if kind == "paper":
        assert [p["status"] for p in ems_pushes(f, rid)] == ["employed"]
    else:  # the agreement is approved; the destination reaches EMS once the signing audit passes
        assert ems_pushes(f, rid) == [] and len(f.outbox(rid, "document")) == 1


@pytest.mark.gen_test(timeout=60)
async def test_department_pass_of_a_cancellation_keeps_the_agreement_in_ems_until_the_school_decides(
        world, client, sql):
    f = await Flow(world, client, sql).setup(audit_mode="department_then_school")
    rid = (await f.new("paper", uploads=[f.upload("paper-agreement")])).json["record"]["id"]
    await f.act(f.D, rid, "pass")
    await f.act(f.S, rid, "pass")
    assert [p["status"] for p in ems_pushes(f, rid)] == ["employed"]
    applied = await f.act(f.G, rid, "apply_cancel", **CANCEL, upload_ids=[f.upload("cancellation-letter")])
    assert applied.status == 200, applied
    await f.act(f.D, rid, "pass")
    assert [p["status"] for p in ems_pushes(f, rid)] == ["employed"]  # 待就业 not yet: the school decides
    assert (await f.act(f.S, rid, "reject", **REJECT)).status == 200
    assert [p["status"] for p in ems_pushes(f, rid)] == ["employed"] and f.state(rid)["state"] == "signed"


@pytest.mark.gen_test(timeout=60)
async def test_sms_names_the_stage_that_decided_and_carries_reason_and_next_step(
        world, client, sql, emulator, sms_emulator, notifier):
    f = await Flow(world, client, sql).setup(audit_mode="department_then_school")  # not bound: SMS instead
    rid = (await f.new("offline")).json["record"]["id"]
    await f.act(f.D, rid, "pass")
    await drain(notifier, sql, [f.g["id"]])
    [first] = await sms_received(sms_emulator, f.g["phone"])
    assert "就业协议申请已通过学院审核，等待学校审核" in first["text"] and "审核通过" not in first["text"]
    await f.act(f.S, rid, "return", **REJECT)
    await drain(notifier, sql, [f.g["id"]])
    texts = [m["text"] for m in await sms_received(sms_emulator, f.g["phone"])]
    returned = next(t for t in texts if "退回" in t)
    assert "被学校退回修改，原因：单位信息有误，单位名称与营业执照不一致" in returned
    assert returned.endswith("修改后重新提交。")


@pytest.mark.gen_test(timeout=60)
async def test_forced_cancellation_and_employer_request_sms_say_who_why_and_what_next(
        world, client, sql, emulator, sms_emulator, notifier):
    f = await Flow(world, client, sql).setup(graduates=2)
    g2 = await f.login(f.graduates[1]["username"])
    first = (await f.invite()).json["record"]["id"]
    second = (await f.invite(graduate=f.graduates[1])).json["record"]["id"]
    for who, rid in ((f.G, first), (g2, second)):
        await f.act(who, rid, "accept")
        await f.act(f.S, rid, "pass")
    assert (await f.act(f.E, first, "request_cancel", **CANCEL)).status == 200
    assert (await f.act(g2, second, "request_cancel", **CANCEL)).status == 200
    forced = await f.act(f.S, second, "force_cancel", explanation="单位已注销，协议无法履行")
    assert forced.status == 200, forced
    await drain(notifier, sql, [f.g["id"], f.graduates[1]["id"]])
    request = next(m["text"] for m in await sms_received(sms_emulator, f.g["phone"]) if "申请与您解除" in m["text"])
    assert "北京示范科技有限公司申请与您解除就业协议，原因：双方协商一致" in request and "同意或拒绝" in request
    texts = [m["text"] for m in await sms_received(sms_emulator, f.graduates[1]["phone"])]
    assert any("学校已解除您与北京示范科技有限公司的就业协议，说明：单位已注销，协议无法履行" in t for t in texts)


@pytest.mark.gen_test(timeout=60)
async def test_accept_is_not_offered_while_another_record_is_active_and_answers_409(world, client, sql):
    f = await Flow(world, client, sql).setup()
    other_employer = await world.employer()
    E2 = await f.login(other_employer["username"])
    first = (await f.invite()).json["record"]["id"]
    second = (await f.invite(employer_client=E2)).json["record"]["id"]
    assert "accept" in [a["action"] for a in (await f.G.get(f"/api/records/{second}")).json["record"]["actions"]]
    assert (await f.act(f.G, first, "accept")).status == 200
    offered = [a["action"] for a in (await f.G.get(f"/api/records/{second}")).json["record"]["actions"]]
    assert "accept" not in offered and "refuse" in offered
    refused = await f.act(f.G, second, "accept")
    assert refused.status == 409 and refused.error == "active_record_exists"
    draft = (await f.new("destination", action="save")).json["record"]
    assert "submit" not in [a["action"] for a in draft["actions"]] and "save" in [a["action"] for a in draft["actions"]]


@pytest.mark.gen_test(timeout=60)
async def test_pages_without_a_cohort_open_on_the_cohort_that_is_signing(world, client, sql):
    f = await Flow(world, client, sql).setup()
    cohort = current_cohort(clock.today())
    assert f.school["cohort"] == cohort
    settings = await f.S.get("/api/school/settings")
    assert settings.status == 200 and settings.json["settings"]["cohort"] == cohort
    assert settings.json["settings"]["online_signing"]
    stats = await f.S.get("/api/school/statistics")
    assert stats.status == 200 and stats.json["totals"]["total"] == 1
    page = await f.S.get("/admin")
    assert page.status == 200 and f"{cohort}届" in page.body.decode()
