"""The rules around the table: illegal actions, permission boundaries, one active record under concurrency,
deadlines, cancellation limit, training modes 21/41, frozen graduates, read-only accounts, bad input."""
from __future__ import annotations

import asyncio

import pytest

from signing import transitions as tt
from tests.flows import CANCEL, DESTINATION, REJECT, UNIT, Flow


@pytest.mark.gen_test
async def test_every_illegal_action_in_a_reached_state_is_409(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    legal = {t.action for t in tt.actions_from("offline", "agreement_audit")}
    for action in sorted(set(tt.ACTION_TEXT) - legal):
        resp = await f.act(f.G, rid, action)
        assert resp.status == 409 and resp.error == "action_not_allowed", (action, resp)
    assert (await f.act(f.G, rid, "fly_away")).status == 404
    assert f.state(rid)["state"] == "agreement_audit"


@pytest.mark.gen_test
async def test_wrong_role_for_a_legal_action_is_403_and_changes_nothing(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.invite()).json["record"]["id"]
    resp = await f.act(f.S, rid, "accept")
    assert resp.status == 403 and resp.error == "forbidden"
    assert (await f.act(f.G, rid, "revoke")).status == 403
    assert f.state(rid)["state"] == "invited"


@pytest.mark.gen_test
async def test_other_graduate_department_school_and_employer_see_nothing(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=2)
    rid = (await f.new("offline")).json["record"]["id"]
    other_graduate = await f.login(f.graduates[1]["username"])
    other_dept = await f.login(await world.user("department", school_id=f.school["id"], department="物理学院"))
    other_school = await world.school()
    other_school_user = await f.login(await world.user("school", school_id=other_school["id"]))
    for who in (other_graduate, other_dept, other_school_user, f.E):
        assert (await who.get(f"/api/records/{rid}")).status == 404
        resp = await who.post(f"/api/records/{rid}/actions/pass", {})
        assert resp.status in (403, 404) and f.graduates[0]["name"] not in resp.body.decode()
    listing = await other_dept.get("/api/school/records")
    assert listing.json["total"] == 0
    assert (await f.G.get("/api/school/records")).status == 403
    assert f.state(rid)["state"] == "agreement_audit"


@pytest.mark.gen_test
async def test_read_only_accounts_view_but_never_act(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    ro = await f.login(await world.user("school", school_id=f.school["id"], permissions={"employment": "read_only"}))
    view = await ro.get(f"/api/school/records/{rid}/audit")
    assert view.status == 200 and view.json["record"]["actions"] == []
    resp = await f.act(ro, rid, "pass")
    assert resp.status == 403 and resp.error == "read_only"
    province = await f.login(await world.user("province", province_code=f.school["province"]))
    assert (await province.get(f"/api/records/{rid}")).status == 200
    assert (await province.post(f"/api/records/{rid}/actions/pass", {})).status == 403
    assert f.state(rid)["state"] == "agreement_audit"


@pytest.mark.gen_test
async def test_audit_view_shows_platform_data_beside_roster(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    sql("UPDATE graduates SET political_status='中共党员' WHERE id=%s", (f.g["id"],))
    view = (await f.S.get(f"/api/school/records/{rid}/audit")).json["record"]
    assert view["roster_differences"] == ["political_status"]
    assert view["data"]["graduate_snapshot"]["political_status"] == "共青团员"
    assert f.g["id_number"] not in str(view)
    await f.act(f.S, rid, "refresh_graduate")
    assert (await f.S.get(f"/api/school/records/{rid}/audit")).json["record"]["roster_differences"] == []


@pytest.mark.gen_test
async def test_school_list_filters(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=3)
    g2 = await f.login(f.graduates[1]["username"])
    await f.new("offline")
    await f.new("destination", client=g2, uploads=[f.upload("destination-proof", f.graduates[1])])
    base = "/api/school/records"
    assert (await f.S.get(base)).json["total"] == 2
    assert [r["kind"] for r in (await f.S.get(base + "?kind=destination")).json["items"]] == ["destination"]
    by_id = await f.S.get(base + f"?id_number={f.graduates[1]['id_number']}")
    assert by_id.json["total"] == 1 and by_id.json["items"][0]["name"] == f.graduates[1]["name"]
    assert (await f.S.get(base + "?state=agreement_audit&initiator=graduate")).json["total"] == 1
    assert (await f.S.get(base + "?state=nonsense")).status == 400
    assert (await f.S.get(base + "?page_size=1000")).status == 400


@pytest.mark.gen_test
async def test_one_active_record_under_twenty_concurrent_accepts(world, client, sql):
    f = await Flow(world, client, sql).setup()
    invitations = []
    for _ in range(20):
        employer = await world.employer()
        e = await f.login(employer["username"])
        invitations.append((await f.invite(employer_client=e)).json["record"]["id"])
    graduate_clients = [await f.login(f.g["username"]) for _ in range(20)]
    results = await asyncio.gather(*[
        c.post(f"/api/records/{rid}/actions/accept", {}) for c, rid in zip(graduate_clients, invitations, strict=True)])
    statuses = sorted(r.status for r in results)
    assert statuses.count(200) == 1, statuses
    assert all(r.error == "active_record_exists" for r in results if r.status != 200)
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s AND active_graduate_id IS NOT NULL",
               (f.g["id"],))[0]["n"] == 1


@pytest.mark.gen_test
async def test_active_record_blocks_other_submissions_but_not_invitations(world, client, sql):
    f = await Flow(world, client, sql).setup()
    await f.new("destination", uploads=[f.upload("destination-proof")])
    second = await f.new("offline")
    assert second.status == 409 and second.error == "active_record_exists"
    draft = await f.new("paper", "save")
    assert draft.status == 201  # drafts are not active
    invitation = await f.invite()
    assert invitation.status == 201  # anyone may invite
    accept = await f.act(f.G, invitation.json["record"]["id"], "accept")
    assert accept.status == 409 and accept.error == "active_record_exists"


@pytest.mark.gen_test
async def test_one_pending_invitation_per_employer_and_graduate(world, client, sql):
    f = await Flow(world, client, sql).setup()
    first = await f.invite()
    again = await f.invite()
    assert again.status == 409 and again.error == "invitation_pending"
    await f.act(f.G, first.json["record"]["id"], "refuse")
    assert (await f.invite()).status == 201  # after a refusal it can invite again


@pytest.mark.gen_test
async def test_cancellation_limit_of_the_school(world, client, sql):
    f = await Flow(world, client, sql).setup()
    sql("UPDATE school_settings SET max_cancellations=1 WHERE school_id=%s", (f.school["id"],))
    rid = (await f.invite()).json["record"]["id"]
    await f.act(f.G, rid, "accept")
    await f.act(f.S, rid, "pass")
    assert (await f.act(f.G, rid, "request_cancel", **CANCEL)).status == 200
    await f.act(f.E, rid, "refuse_cancel", explanation="不同意")
    resp = await f.act(f.G, rid, "request_cancel", **CANCEL)
    assert resp.status == 409 and resp.error == "cancellation_limit"
    assert (await f.act(f.E, rid, "request_cancel", **CANCEL)).status == 200  # the employer's do not count


@pytest.mark.gen_test
async def test_training_modes_21_and_41_only_file_the_supplementary_destination(world, client, sql):
    f = await Flow(world, client, sql).setup(training_mode="21")
    types = (await f.G.get("/api/destination-types")).json["items"]
    assert [t["name"] for t in types] == ["定向/委培毕业去向补充登记"]
    for kind in ("offline", "paper"):
        resp = await f.new(kind)
        assert resp.status == 409 and resp.error == "training_mode_cannot_sign"
    invite = await f.invite()
    assert invite.status == 409 and invite.error == "training_mode_cannot_sign"
    wrong = await f.new("destination", data=DESTINATION)
    assert wrong.status == 409 and wrong.error == "destination_type_not_allowed"
    supplementary = {"type_code": "90", "fields": {"unit_name": "定向单位", "location": "北京"}}
    no_proof = await f.new("destination", data=supplementary)
    assert no_proof.status == 400 and no_proof.error == "upload_required"
    ok = await f.new("destination", data=supplementary, uploads=[f.upload("destination-proof")])
    assert ok.status == 201


@pytest.mark.gen_test
async def test_supplementary_type_is_not_for_other_graduates(world, client, sql):
    f = await Flow(world, client, sql).setup()
    resp = await f.new("destination", data={"type_code": "90", "fields": {"unit_name": "x", "location": "y"}})
    assert resp.status == 409 and resp.error == "destination_type_not_allowed"


@pytest.mark.gen_test
async def test_invalid_graduate_records_are_frozen_for_everyone(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    sql("UPDATE graduates SET status='invalid' WHERE id=%s", (f.g["id"],))
    for who, action in ((f.S, "pass"), (f.G, "withdraw")):
        resp = await f.act(who, rid, action)
        assert resp.status == 409 and resp.error == "graduate_invalid"
    assert (await f.G.get(f"/api/records/{rid}")).json["record"]["actions"] == []
    sql("UPDATE graduates SET status='valid' WHERE id=%s", (f.g["id"],))
    assert (await f.act(f.S, rid, "pass")).status == 200  # restored with its previous state


@pytest.mark.gen_test
async def test_closed_cohort_is_read_only(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    sql("UPDATE graduates SET cohort=cohort-2 WHERE id=%s", (f.g["id"],))
    resp = await f.act(f.S, rid, "pass")
    assert resp.status == 409 and resp.error == "cohort_closed"


@pytest.mark.gen_test
async def test_graduates_cannot_act_before_the_school_switches_signing_on(world, client, sql):
    f = await Flow(world, client, sql).setup()
    sql("UPDATE school_settings SET online_signing=0 WHERE school_id=%s", (f.school["id"],))
    resp = await f.new("offline")
    assert resp.status == 409 and resp.error == "settings_required"


@pytest.mark.gen_test
async def test_first_graduate_action_locks_online_signing_on(world, client, sql):
    f = await Flow(world, client, sql).setup()
    await f.new("destination", "save")
    off = await f.S.patch(f"/api/school/settings?cohort={f.school['cohort']}", {"online_signing": False})
    assert off.status == 409 and off.error == "online_signing_irreversible"


@pytest.mark.gen_test
async def test_stale_version_is_409_and_writes_nothing(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rec = (await f.new("offline")).json["record"]
    resp = await f.S.post(f"/api/records/{rec['id']}/actions/pass", {"version": rec["version"] - 1})
    assert resp.status == 409 and resp.error == "stale_version"
    assert f.state(rec["id"])["state"] == "agreement_audit"


@pytest.mark.gen_test
@pytest.mark.parametrize("body,code", [
    ({"reason": "随便写的原因", "explanation": "x"}, "reason_required"),
    ({"reason": "单位信息有误"}, "explanation_required"),
    ({"reason": "单位信息有误", "explanation": "   "}, "explanation_required"),
    ({"reason": 5, "explanation": "x"}, "invalid_input"),
    ({"surprise": 1}, "invalid_input"),
])
async def test_return_needs_a_listed_reason_and_an_explanation(world, client, sql, body, code):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    resp = await f.S.post(f"/api/records/{rid}/actions/return", body)
    assert resp.status == 400 and resp.error == code, resp
    assert sql("SELECT COUNT(*) n FROM record_events WHERE record_id=%s", (rid,))[0]["n"] == 1


@pytest.mark.gen_test
@pytest.mark.parametrize("data,code", [
    ({**UNIT, "credit_code": "91350100M000100Y44"}, "invalid_credit_code"),
    ({**UNIT, "unit_nature": "99"}, "invalid_record_data"),
    ({**UNIT, "supplementary_terms": "字" * 1001}, "invalid_record_data"),
    ({**UNIT, "contact_mobile": "12345"}, "invalid_record_data"),
    ({**UNIT, "takes_hukou_archive": "yes"}, "invalid_record_data"),
    ({**UNIT, "hacker": 1}, "invalid_record_data"),
    ({"unit_name": "x"}, "record_incomplete"),
])
async def test_bad_agreement_data_is_refused_and_nothing_written(world, client, sql, data, code):
    f = await Flow(world, client, sql).setup()
    resp = await f.new("offline", data=data)
    assert resp.status == 400 and resp.error == code, resp
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0
    assert sql("SELECT COUNT(*) n FROM outbox WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_unknown_record_and_upload_are_404(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=2)
    assert (await f.G.get("/api/records/99999999")).status == 404
    assert (await f.S.post("/api/records/99999999/actions/pass", {})).status == 404
    foreign_upload = f.upload(graduate=f.graduates[1])
    resp = await f.new("paper", uploads=[foreign_upload])
    assert resp.status == 404 and resp.error == "upload_not_found"
    no_image = await f.new("paper")
    assert no_image.status == 400 and no_image.error == "upload_required"
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_invitation_deadline_and_search_rules(world, client, sql):
    f = await Flow(world, client, sql).setup()
    body = {"name": f.g["name"], "id_number": f.g["id_number"], "data": UNIT}
    assert (await f.E.post("/api/employer/invitations", {**body, "deadline": "2020-01-01 00:00"})).error == "invalid_deadline"
    assert (await f.E.post("/api/employer/invitations", {**body, "deadline": "tomorrow"})).status == 400
    wrong_name = await f.E.post("/api/employer/graduate-search", {"name": "不是他", "id_number": f.g["id_number"]})
    assert wrong_name.status == 404 and wrong_name.error == "graduate_not_found"
    found = await f.E.post("/api/employer/graduate-search", {"name": f.g["name"], "id_number": f.g["id_number"]})
    assert found.status == 200 and "id_number" not in found.json["graduate"]
    assert (await f.G.post("/api/employer/graduate-search", {"name": "x", "id_number": f.g["id_number"]})).status == 403


@pytest.mark.gen_test
async def test_uncertified_employer_cannot_invite_until_the_administrator_certifies(world, client, sql):
    f = await Flow(world, client, sql).setup()
    reg = await client().post("/api/employers/register", {
        "name": "新注册科技有限公司", "credit_code": "91350100M000100Y43", "contact_name": "张三",
        "contact_phone": "13800000001", "address": "福州市", "certification_method": "licence",
        "username": "newcorp", "password": "corp2026pass"})
    assert reg.status == 201 and reg.json["employer"]["certification"] == "pending"
    dup = await client().post("/api/employers/register", {
        "name": "重复", "credit_code": "91350100M000100Y43", "contact_name": "张三", "contact_phone": "13800000001",
        "address": "福州市", "certification_method": "licence", "username": "newcorp2", "password": "corp2026pass"})
    assert dup.status == 409 and dup.error == "employer_registered"
    corp_client = client()
    await corp_client.login("newcorp", "corp2026pass")
    resp = await f.invite(employer_client=corp_client)
    assert resp.status == 403 and resp.error == "employer_not_certified"
    admin = await f.login(await world.user("admin"))
    pending = await admin.get("/api/admin/employers?certification=pending")
    assert any(e["id"] == reg.json["employer"]["id"] for e in pending.json["items"])
    refuse = await admin.post(f"/api/admin/employers/{reg.json['employer']['id']}/certification", {"decision": "refused"})
    assert refuse.status == 400
    decide = await admin.post(f"/api/admin/employers/{reg.json['employer']['id']}/certification", {"decision": "certified"})
    assert decide.status == 200
    assert (await f.invite(employer_client=corp_client)).status == 201
    assert (await f.S.get("/api/admin/employers")).status == 403


@pytest.mark.gen_test
async def test_bad_credit_code_at_registration(client):
    resp = await client().post("/api/employers/register", {
        "name": "某公司", "credit_code": "91350100M000100Y44", "contact_name": "张三", "contact_phone": "13800000001",
        "address": "福州市", "certification_method": "licence", "username": "badcorp", "password": "corp2026pass"})
    assert resp.status == 400 and resp.error == "invalid_credit_code"


@pytest.mark.gen_test
async def test_department_then_school_department_return_acts_at_once(world, client, sql):
    f = await Flow(world, client, sql).setup(audit_mode="department_then_school")
    rid = (await f.new("destination", uploads=[f.upload("destination-proof")])).json["record"]["id"]
    resp = await f.act(f.D, rid, "return", **REJECT)
    assert resp.status == 200 and resp.json["record"]["state"] == "destination_returned"
    note = f.outbox(rid, "notify")[-1]
    assert "destination_returned" in note["payload"]


@pytest.mark.gen_test
async def test_two_party_provinces_verify_signings_instead_of_auditing(world, client, sql):
    f = Flow(world, client, sql)
    province = await world.province(agreement_type="two_party")
    school = await world.school(province=province)
    f.school, f.graduates = school, await world.graduates(school, department="计算机学院")
    f.g, f.employer = f.graduates[0], await world.employer()
    f.S = await f.login(await world.user("school", school_id=school["id"]))
    f.E, f.G = await f.login(f.employer["username"]), await f.login(f.g["username"])
    rid = (await f.invite()).json["record"]["id"]
    accepted = (await f.act(f.G, rid, "accept")).json["record"]
    assert accepted["status_text"] == "学生已同意签约，等待学校鉴证"
    view = (await f.S.get(f"/api/records/{rid}")).json["record"]
    assert "鉴证通过" in [a["text"] for a in view["actions"]]
    listed = (await f.S.get("/api/school/records?state=online_audit")).json["items"]
    assert listed[0]["status_text"] == "学生已同意签约，等待学校鉴证"
