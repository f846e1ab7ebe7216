"""档案 / 户口信息登记: modules switched on by the province; graduates register; read-write accounts review."""
from __future__ import annotations

import pytest

from signing.actors import SYSTEM
from signing.settings_service import update_province

ARCHIVE = {"receiver_type": "托管单位接收", "receiver_name": "北京市人才服务中心", "address": "北京市朝阳区某路1号",
           "postcode": "100020"}
HUKOU = {"move_type": "迁往单位所在地", "address": "北京市海淀区某街道", "postcode": "100080"}


async def setting_up(world, client, modules=("archive", "hukou")):
    province = await world.province()
    await update_province(world.db, SYSTEM, province, {f"module_{m}": True for m in modules})
    school = await world.school(province=province)
    [g] = await world.graduates(school, department="计算机学院")
    gc = client()
    await gc.login(g["username"])
    rw = {"employment": "read_write", "archive": "read_write", "hukou": "read_write"}
    sc = client()
    await sc.login(await world.user("school", school_id=school["id"], permissions=rw))
    return school, g, gc, sc


@pytest.mark.gen_test
async def test_graduate_registers_and_school_approves(world, client):
    school, g, gc, sc = await setting_up(world, client)
    draft = await gc.request("PUT", "/api/graduate/registrations/archive",
                             json_body={"action": "save", "data": {"address": "半成品"}})
    assert draft.status == 200 and draft.json["registration"]["status"] == "draft"
    sent = await gc.request("PUT", "/api/graduate/registrations/archive", json_body={"action": "submit", "data": ARCHIVE})
    reg = sent.json["registration"]
    assert reg["status"] == "submitted"
    listed = (await sc.get("/api/school/registrations?module=archive&status=submitted")).json["items"]
    assert [r["id"] for r in listed] == [reg["id"]] and g["id_number"] not in str(listed)
    locked = await gc.request("PUT", "/api/graduate/registrations/archive", json_body={"action": "save", "data": ARCHIVE})
    assert locked.status == 409
    approved = await sc.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve",
                                                                               "version": reg["version"]})
    assert approved.json["registration"]["status"] == "approved"
    mine = (await gc.get("/api/graduate/registrations")).json
    assert mine["archive"]["status"] == "approved" and mine["hukou"] is None


@pytest.mark.gen_test
async def test_return_needs_a_reason_and_reopens_the_form(world, client):
    school, g, gc, sc = await setting_up(world, client)
    reg = (await gc.request("PUT", "/api/graduate/registrations/hukou",
                            json_body={"action": "submit", "data": HUKOU})).json["registration"]
    no_reason = await sc.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "return"})
    assert no_reason.status == 400 and no_reason.error == "explanation_required"
    back = await sc.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "return", "reason": "地址不完整"})
    assert back.json["registration"]["status"] == "returned" and back.json["registration"]["reason"] == "地址不完整"
    again = await gc.request("PUT", "/api/graduate/registrations/hukou", json_body={"action": "submit", "data": HUKOU})
    assert again.json["registration"]["status"] == "submitted"


@pytest.mark.gen_test
async def test_module_must_be_switched_on_by_the_province(world, client):
    school, g, gc, sc = await setting_up(world, client, modules=("archive",))
    resp = await gc.request("PUT", "/api/graduate/registrations/hukou", json_body={"action": "submit", "data": HUKOU})
    assert resp.status == 403 and resp.error == "module_disabled"


@pytest.mark.gen_test
@pytest.mark.parametrize("data", [{**ARCHIVE, "receiver_type": "随便"}, {**ARCHIVE, "postcode": "12"},
                                  {**ARCHIVE, "extra": 1}, {"address": "x"}])
async def test_bad_registration_data_is_refused(world, client, data):
    school, g, gc, sc = await setting_up(world, client)
    resp = await gc.request("PUT", "/api/graduate/registrations/archive", json_body={"action": "submit", "data": data})
    assert resp.status == 400 and resp.error == "invalid_record_data"


@pytest.mark.gen_test
async def test_module_permissions_bound_the_reviewers(world, client):
    school, g, gc, sc = await setting_up(world, client)
    reg = (await gc.request("PUT", "/api/graduate/registrations/archive",
                            json_body={"action": "submit", "data": ARCHIVE})).json["registration"]
    no_archive = client()
    await no_archive.login(await world.user("school", school_id=school["id"]))  # employment only
    assert (await no_archive.get("/api/school/registrations?module=archive")).status == 403
    assert (await no_archive.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve"})).status == 403
    ro = client()
    await ro.login(await world.user("school", school_id=school["id"], permissions={"archive": "read_only"}))
    assert (await ro.get("/api/school/registrations?module=archive")).status == 200
    resp = await ro.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve"})
    assert resp.status == 403 and resp.error == "read_only"
    other_dept = client()
    await other_dept.login(await world.user("department", school_id=school["id"], department="物理学院",
                                            permissions={"archive": "read_write"}))
    assert (await other_dept.post(f"/api/school/registrations/{reg['id']}/review",
                                  {"decision": "approve"})).status == 404
    dept = client()
    await dept.login(await world.user("department", school_id=school["id"], department="计算机学院",
                                      permissions={"archive": "read_write"}))
    assert (await dept.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve"})).status == 200


@pytest.mark.gen_test
async def test_review_result_is_written_to_the_outbox_with_the_change(world, client, sql):
    import json
    school, g, gc, sc = await setting_up(world, client)
    reg = (await gc.request("PUT", "/api/graduate/registrations/archive",
                            json_body={"action": "submit", "data": ARCHIVE})).json["registration"]
    await sc.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "return", "reason": "地址不完整"})
    [row] = sql("SELECT payload FROM outbox WHERE graduate_id=%s AND topic='notify'", (g["id"],))
    payload = json.loads(row["payload"])
    assert payload["template"] == "audit_result" and payload["kind_text"] == "档案信息登记"
    assert payload["explanation"] == "地址不完整"
