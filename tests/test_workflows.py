"""Every row of the transition table taken through the API (the last test checks the coverage), with the
state, the timeline event and the outbox rows each step must leave."""
from __future__ import annotations

import json

import pytest

from signing import transitions as tt
from tests.flows import CANCEL, DESTINATION, PROBED, REJECT, UNIT, Flow, probe_illegal_actions


async def ok(resp, state=None, stage=None):
    assert resp.status in (200, 201), resp
    record = resp.json["record"]
    if state:
        assert record["state"] == state, (record["state"], record["status_text"])
    if stage:
        assert record["audit_stage"] == stage
    return record


@pytest.mark.gen_test
async def test_online_signing_audit_edit_and_cancellation(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rec = await ok(await f.invite(), "invited")
    rid = rec["id"]
    assert [o["topic"] for o in f.outbox(rid)] == ["notify"]
    mine = await f.G.get("/api/graduate/records")
    assert [a["action"] for a in mine.json["items"][0]["actions"]] == ["accept", "refuse"]
    rec = await ok(await f.act(f.G, rid, "accept"), "online_audit", "school")
    assert rec["status_text"] == "学生已同意签约，等待学校审核"
    rec = await ok(await f.act(f.S, rid, "pass"), "signed")
    assert rec["agreement_number"].startswith("WQ")
    assert [o["topic"] for o in f.outbox(rid)] == ["notify", "notify", "ems_sync", "document"]
    rec = await ok(await f.act(f.S, rid, "edit_after_approval", changes={"job_category": "11"}), "signed")
    assert rec["data"]["job_category"] == "11"
    edited = json.loads(f.outbox(rid, "notify")[-1]["payload"])
    assert edited["template"] == "record_edited" and edited["sms"] is True and edited["changed_fields"] == ["job_category"]
    refused = await f.act(f.S, rid, "edit_after_approval", changes={"unit_name": "别的公司"})
    assert refused.status == 409 and refused.error == "field_not_editable"
    await ok(await f.act(f.G, rid, "request_cancel", **CANCEL), "cancel_pending_employer")
    rec = await ok(await f.act(f.E, rid, "accept_cancel"), "cancel_audit_online")
    assert rec["status_text"] == "已同意解约，等待学校审核"
    await ok(await f.act(f.S, rid, "pass"), "cancelled")
    last_ems = json.loads(f.outbox(rid, "ems_sync")[-1]["payload"])
    assert last_ems["status"] == "unemployed" and last_ems["destination"]["name"] == "待就业"
    timeline = (await f.G.get(f"/api/records/{rid}")).json["record"]["timeline"]
    assert [e["action"] for e in timeline] == ["invite", "accept", "pass", "edit_after_approval", "request_cancel",
                                                 "accept_cancel", "pass"]
    again = await ok(await f.invite(), "invited")  # cancelled: free to sign again
    await ok(await f.act(f.G, again["id"], "accept"), "online_audit")


@pytest.mark.gen_test
async def test_online_refuse_revoke_reject_and_expire(world, client, sql, app):
    f = await Flow(world, client, sql).setup()
    r1 = await ok(await f.invite())
    await ok(await f.act(f.G, r1["id"], "refuse"), "refused")
    r2 = await ok(await f.invite())
    await ok(await f.act(f.E, r2["id"], "revoke"), "discarded")
    r3 = await ok(await f.invite())
    await ok(await f.act(f.G, r3["id"], "accept"))
    rec = await ok(await f.act(f.S, r3["id"], "reject", **REJECT), "audit_failed")
    assert rec["timeline"][-1]["reason"] == "单位信息有误"
    r4 = await ok(await f.invite())
    sql("UPDATE records SET deadline=NOW() - INTERVAL 1 MINUTE WHERE id=%s", (r4["id"],))
    late = await f.act(f.G, r4["id"], "accept")
    assert late.status == 409 and late.error == "invitation_expired"  # refused even before the job runs
    from signing.expiry import expire_invitations
    assert await expire_invitations(app.db) >= 1
    assert f.state(r4["id"])["state"] == "expired"
    expired = (await f.G.get(f"/api/records/{r4['id']}")).json["record"]
    assert expired["status_text"] == "签约邀请逾期未回应，签约失败"
    await probe_illegal_actions(f.G, expired)


@pytest.mark.gen_test
async def test_online_department_then_school_with_cancellation_routes(world, client, sql):
    f = await Flow(world, client, sql).setup(audit_mode="department_then_school")
    rid = (await ok(await f.invite()))["id"]
    rec = await ok(await f.act(f.G, rid, "accept"), "online_audit", "department")
    assert rec["status_text"] == "学生已同意签约，等待学院审核"
    early = await f.act(f.S, rid, "pass")
    assert early.status == 409 and early.error == "not_your_audit_stage"
    await ok(await f.act(f.D, rid, "refresh_graduate"), "online_audit", "department")
    await ok(await f.act(f.D, rid, "pass"), "online_audit", "school")
    await ok(await f.act(f.S, rid, "pass"), "signed")
    await ok(await f.act(f.E, rid, "request_cancel", **CANCEL), "cancel_pending_graduate")
    cancel_note = json.loads(f.outbox(rid, "notify")[-1]["payload"])
    assert cancel_note["template"] == "cancel_request"
    await ok(await f.act(f.G, rid, "refuse_cancel", explanation="不同意解约"), "signed")
    await ok(await f.act(f.E, rid, "request_cancel", **CANCEL), "cancel_pending_graduate")
    await ok(await f.act(f.G, rid, "accept_cancel"), "cancel_audit_online", "department")
    await ok(await f.act(f.D, rid, "reject", **REJECT), "signed")
    await ok(await f.act(f.G, rid, "request_cancel", **CANCEL), "cancel_pending_employer")
    await ok(await f.act(f.E, rid, "refuse_cancel", explanation="单位不同意"), "signed")
    await ok(await f.act(f.G, rid, "request_cancel", **CANCEL), "cancel_pending_employer")
    dept_force = await f.act(f.D, rid, "force_cancel", explanation="单位长期未处理")
    assert dept_force.status == 403
    await ok(await f.act(f.S, rid, "force_cancel", explanation="单位长期未处理，已电话核实"), "cancelled")
    forced = json.loads(f.outbox(rid, "notify")[-1]["payload"])
    assert forced["template"] == "forced_cancellation"


@pytest.mark.gen_test
async def test_offline_signing_every_step(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rec = await ok(await f.new("offline", "save", data={"unit_name": "草稿单位"}), "draft")
    rid = rec["id"]
    await ok(await f.act(f.G, rid, "save", data={**UNIT, "unit_name": "草稿单位二"}), "draft")
    incomplete = await f.act(f.G, rid, "submit", data={"unit_name": "只有名字"})
    assert incomplete.status == 400 and incomplete.error == "record_incomplete"
    await ok(await f.act(f.G, rid, "submit", data=UNIT), "agreement_audit", "school")
    await ok(await f.act(f.G, rid, "withdraw"), "draft")
    await ok(await f.act(f.G, rid, "submit", data=UNIT), "agreement_audit")
    rec = await ok(await f.act(f.S, rid, "return", **REJECT), "agreement_returned")
    assert rec["status_text"] == "协议审核待提交（老师退回）"
    await ok(await f.act(f.G, rid, "save", data=UNIT), "agreement_returned")
    await ok(await f.act(f.G, rid, "submit", data=UNIT), "agreement_audit")
    await ok(await f.act(f.S, rid, "refresh_graduate"), "agreement_audit")
    no_withdraw = await f.act(f.G, rid, "withdraw")
    assert no_withdraw.status == 409 and no_withdraw.error == "already_audited"
    rec = await ok(await f.act(f.S, rid, "pass"), "agreement_approved")
    assert rec["agreement_number"]
    stamped = f.upload("stamped-agreement")
    await ok(await f.act(f.G, rid, "upload_stamped", upload_ids=[stamped]), "signing_audit")
    await ok(await f.act(f.G, rid, "withdraw"), "agreement_approved")
    await ok(await f.act(f.G, rid, "upload_stamped", upload_ids=[stamped]), "signing_audit")
    await ok(await f.act(f.S, rid, "return", **REJECT), "signing_returned")
    await ok(await f.act(f.G, rid, "upload_stamped", upload_ids=[f.upload("stamped-agreement")]), "signing_audit")
    await ok(await f.act(f.S, rid, "pass"), "signed")
    await ok(await f.act(f.S, rid, "edit_after_approval",
                         changes={"unit_nature": "31", "unit_industry": "C", "job_category": "11"}), "signed")
@pytest.mark.gen_test
async def test_offline_voids_and_discard(world, client, sql):
    f = await Flow(world, client, sql).setup()
    r1 = await ok(await f.new("offline"), "agreement_audit")
    rec = await ok(await f.act(f.S, r1["id"], "reject", **REJECT), "agreement_void")
    assert rec["status_text"] == "就业协议审核不通过（已作废）"
    r2 = await ok(await f.new("offline"))
    await ok(await f.act(f.S, r2["id"], "pass"), "agreement_approved")
    await ok(await f.act(f.G, r2["id"], "upload_stamped", upload_ids=[f.upload("stamped-agreement")]))
    await ok(await f.act(f.S, r2["id"], "reject", **REJECT), "signing_void")
    r3 = await ok(await f.new("offline", "save"), "draft")
    await ok(await f.act(f.G, r3["id"], "discard"), "discarded")


@pytest.mark.gen_test
async def test_paper_registration_and_offline_cancellation(world, client, sql):
    f = await Flow(world, client, sql).setup(audit_mode="department_then_school")
    r0 = await ok(await f.new("paper", "save"), "draft")
    await ok(await f.act(f.G, r0["id"], "save", data=UNIT), "draft")
    await ok(await f.act(f.G, r0["id"], "submit", data=UNIT, upload_ids=[f.upload()]), "registration_audit", "department")
    await ok(await f.act(f.D, r0["id"], "return", **REJECT), "registration_returned")
    await ok(await f.act(f.G, r0["id"], "save", data=UNIT), "registration_returned")
    await ok(await f.act(f.G, r0["id"], "submit", data=UNIT), "registration_audit")
    await ok(await f.act(f.D, r0["id"], "reject", **REJECT), "registration_void")
    r1 = await ok(await f.new("paper", uploads=[f.upload()]), "registration_audit", "department")
    await ok(await f.act(f.G, r1["id"], "withdraw"), "draft")
    await ok(await f.act(f.G, r1["id"], "submit", data=UNIT), "registration_audit")
    await ok(await f.act(f.D, r1["id"], "refresh_graduate"))
    await ok(await f.act(f.D, r1["id"], "pass"), "registration_audit", "school")
    await ok(await f.act(f.S, r1["id"], "pass"), "signed")
    await ok(await f.act(f.S, r1["id"], "edit_after_approval", changes={"unit_industry": "M"}), "signed")
    await ok(await f.act(f.G, r1["id"], "apply_cancel", upload_ids=[f.upload("cancellation-letter")], **CANCEL),
             "cancel_audit", "department")
    unilateral = await f.act(f.D, r1["id"], "pass_unilateral", explanation="x")
    assert unilateral.status == 403
    await ok(await f.act(f.D, r1["id"], "pass"), "cancel_audit", "school")
    await ok(await f.act(f.S, r1["id"], "pass"), "cancelled")
    r2 = await ok(await f.new("paper", "save"))
    await ok(await f.act(f.G, r2["id"], "discard"), "discarded")


@pytest.mark.gen_test
async def test_destination_registration_edit_void(world, client, sql):
    f = await Flow(world, client, sql).setup()
    r0 = await ok(await f.new("destination", "save", data={"type_code": "80"}), "draft")
    await ok(await f.act(f.G, r0["id"], "save", data=DESTINATION), "draft")
    missing = await f.act(f.G, r0["id"], "submit", data={"type_code": "80", "fields": {"school_name": "北大"}},
                          upload_ids=[f.upload("destination-proof")])
    assert missing.status == 400 and "录取专业" in missing.json["error"]["message"]
    await ok(await f.act(f.G, r0["id"], "submit", data=DESTINATION, upload_ids=[f.upload("destination-proof")]),
             "destination_audit")
    await ok(await f.act(f.G, r0["id"], "withdraw"), "draft")
    await ok(await f.act(f.G, r0["id"], "submit", data=DESTINATION), "destination_audit")
    rec = await ok(await f.act(f.S, r0["id"], "edit_destination",
                               changes={"fields": {"school_name": "清华大学", "major": "软件工程"}}), "destination_audit")
    assert rec["data"]["fields"]["school_name"] == "清华大学"
    assert json.loads(f.outbox(r0["id"], "notify")[-1]["payload"])["template"] == "record_edited"
    await ok(await f.act(f.S, r0["id"], "refresh_graduate"))
    await ok(await f.act(f.S, r0["id"], "return", **REJECT), "destination_returned")
    await ok(await f.act(f.G, r0["id"], "save", data=DESTINATION), "destination_returned")
    await ok(await f.act(f.G, r0["id"], "submit", data=DESTINATION), "destination_audit")
    await ok(await f.act(f.S, r0["id"], "pass"), "registered")
    after = await f.act(f.S, r0["id"], "edit_destination", changes={"fields": DESTINATION["fields"]})
    assert after.status == 409 and after.error == "action_not_allowed"
    await ok(await f.act(f.G, r0["id"], "void"), "voided")
    assert json.loads(f.outbox(r0["id"], "ems_sync")[-1]["payload"])["status"] == "unemployed"
    r1 = await ok(await f.new("destination", data={"type_code": "70", "fields": {}}), "destination_audit")
    await ok(await f.act(f.S, r1["id"], "reject", **REJECT), "destination_void")
    r2 = await ok(await f.new("destination", "save"))
    await ok(await f.act(f.G, r2["id"], "discard"), "discarded")


async def approved(f, kind):
    if kind == "paper":
        rid = (await ok(await f.new("paper", uploads=[f.upload()])))["id"]
    else:
        rid = (await ok(await f.new("offline")))["id"]
        await ok(await f.act(f.S, rid, "pass"), "agreement_approved")
        await ok(await f.act(f.G, rid, "upload_stamped", upload_ids=[f.upload("stamped-agreement")]))
    await ok(await f.act(f.S, rid, "pass"), "signed")
    return rid


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", ["offline", "paper"])
async def test_offline_cancellation_every_route(world, client, sql, kind):
    f = await Flow(world, client, sql).setup()
    sql("UPDATE school_settings SET max_cancellations=10 WHERE school_id=%s", (f.school["id"],))
    rid = await approved(f, kind)
    no_letter = await f.act(f.G, rid, "apply_cancel", **CANCEL)
    assert no_letter.status == 400 and no_letter.error == "upload_required"
    rec = await ok(await f.act(f.G, rid, "apply_cancel", upload_ids=[f.upload("cancellation-letter")], **CANCEL),
                   "cancel_audit", "school")
    assert rec["status_text"] == "解约中，等待学校审核"
    await ok(await f.act(f.G, rid, "withdraw"), "cancel_returned")
    await ok(await f.act(f.G, rid, "resubmit_cancel", **CANCEL), "cancel_audit")
    await ok(await f.act(f.S, rid, "return", **REJECT), "cancel_returned")
    await ok(await f.act(f.G, rid, "abandon_cancel"), "signed")
    await ok(await f.act(f.G, rid, "apply_cancel", upload_ids=[f.upload("cancellation-letter")], **CANCEL))
    await ok(await f.act(f.S, rid, "reject", **REJECT), "signed")
    await ok(await f.act(f.G, rid, "apply_cancel", upload_ids=[f.upload("cancellation-letter")], **CANCEL))
    rec = await ok(await f.act(f.S, rid, "pass_unilateral", explanation="单位无法提供解约函，学生提交了书面说明"),
                   "cancelled")
    assert json.loads(f.outbox(rid, "ems_sync")[-1]["payload"])["status"] == "unemployed"
    rid2 = await approved(f, kind)
    await ok(await f.act(f.G, rid2, "apply_cancel", upload_ids=[f.upload("cancellation-letter")], **CANCEL))
    await ok(await f.act(f.S, rid2, "pass"), "cancelled")


def test_every_illegal_action_in_every_state_was_refused():
    """Runs after the flows above: Flow.act/new probed every action the table lacks in each state reached."""
    states = {(t.kind, s) for t in tt.TABLE for s in (t.state, t.next_state.lstrip("@")) if s != tt.NEW}
    assert not states - PROBED, f"states whose illegal actions were never tried: {sorted(states - PROBED)}"


def test_every_transition_row_was_taken_through_the_api(sql):
    """Runs after the flows above (same database): every (kind, state, action) row has an event."""
    taken = {(r["kind"], r["from_state"], r["action"]) for r in sql(
        "SELECT DISTINCT r.kind, e.from_state, e.action FROM record_events e JOIN records r ON r.id=e.record_id")}
    missing = [(t.kind, t.state, t.action) for t in tt.TABLE if (t.kind, t.state, t.action) not in taken]
    assert not missing, f"rows never taken through the API: {missing}"
