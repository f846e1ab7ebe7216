"""Settings (SPEC section 3): province switches and school settings, every constraint refused clearly."""
from __future__ import annotations

import pytest

HANDLER = {"name": "王老师", "phone": "010-62750001", "address": "北京市海淀区示范路1号", "postcode": "100871"}


async def province_user(world, client, code):
    c = client()
    await c.login(await world.user("province", province_code=code))
    return c


@pytest.mark.gen_test
async def test_province_switches_modules_on_and_they_stay_on(world, client):
    code = await world.province(employment=False)
    c = await province_user(world, client, code)
    resp = await c.patch(f"/api/provinces/{code}/settings", {"agreement_type": "two_party", "module_employment": True})
    assert resp.status == 200 and resp.json["province"]["module_employment"] == 1
    off = await c.patch(f"/api/provinces/{code}/settings", {"module_employment": False})
    assert off.status == 409 and off.error == "province_module_irreversible"
    retype = await c.patch(f"/api/provinces/{code}/settings", {"agreement_type": "three_party"})
    assert retype.status == 409 and retype.error == "agreement_type_locked"
    archive = await c.patch(f"/api/provinces/{code}/settings", {"module_archive": True})
    assert archive.json["province"]["module_archive"] == 1 and archive.json["province"]["agreement_type"] == "two_party"


@pytest.mark.gen_test
async def test_employment_module_needs_an_agreement_type(world, client):
    code = await world.province(employment=False)
    c = await province_user(world, client, code)
    resp = await c.patch(f"/api/provinces/{code}/settings", {"module_employment": True})
    assert resp.status == 400 and resp.error == "province_agreement_type_required"


@pytest.mark.gen_test
async def test_province_cannot_touch_another_province(world, client):
    mine, other = await world.province(), await world.province()
    c = await province_user(world, client, mine)
    assert (await c.patch(f"/api/provinces/{other}/settings", {"module_hukou": True})).status == 404
    assert (await c.get(f"/api/provinces/{other}/settings")).status == 404


@pytest.mark.gen_test
async def test_ministry_reads_but_cannot_change_province_settings(world, client):
    code = await world.province()
    c = client()
    await c.login(await world.user("ministry"))
    assert (await c.get(f"/api/provinces/{code}/settings")).status == 200
    assert (await c.patch(f"/api/provinces/{code}/settings", {"module_hukou": True})).status == 403


@pytest.mark.gen_test
async def test_bad_agreement_type_is_400(world, client):
    code = await world.province(employment=False)
    c = await province_user(world, client, code)
    resp = await c.patch(f"/api/provinces/{code}/settings", {"agreement_type": "four_party"})
    assert resp.status == 400 and resp.error == "invalid_input"


async def school_client(world, client, school, **kw):
    c = client()
    await c.login(await world.user("school", school_id=school["id"], **kw))
    return c


@pytest.mark.gen_test
async def test_online_signing_needs_the_province_module(world, client):
    province = await world.province(employment=False)
    school = await world.school(province=province, online_signing=False)
    c = await school_client(world, client, school)
    resp = await c.patch(f"/api/school/settings?cohort={school['cohort']}", {"online_signing": True})
    assert resp.status == 409 and resp.error == "province_module_off"


@pytest.mark.gen_test
async def test_online_signing_can_be_switched_off_until_someone_acts(world, client, sql):
    school = await world.school()
    c = await school_client(world, client, school)
    path = f"/api/school/settings?cohort={school['cohort']}"
    assert (await c.patch(path, {"online_signing": False})).json["settings"]["online_signing"] == 0
    assert (await c.patch(path, {"online_signing": True})).json["settings"]["online_signing"] == 1
    sql("UPDATE school_settings SET first_action_at=NOW() WHERE school_id=%s", (school["id"],))
    resp = await c.patch(path, {"online_signing": False})
    assert resp.status == 409 and resp.error == "online_signing_irreversible"


@pytest.mark.gen_test
@pytest.mark.parametrize("value", [-1, 100, 3.5, "5", True])
async def test_max_cancellations_must_be_an_integer_0_to_99(world, client, value):
    school = await world.school()
    c = await school_client(world, client, school)
    resp = await c.patch(f"/api/school/settings?cohort={school['cohort']}", {"max_cancellations": value})
    assert resp.status == 400 and resp.error in ("max_cancellations_range", "invalid_input")


@pytest.mark.gen_test
async def test_max_cancellations_is_saved(world, client):
    school = await world.school()
    c = await school_client(world, client, school)
    resp = await c.patch(f"/api/school/settings?cohort={school['cohort']}", {"max_cancellations": 0})
    assert resp.json["settings"]["max_cancellations"] == 0


@pytest.mark.gen_test
async def test_department_mode_needs_a_read_write_account_per_department(world, client):
    school = await world.school()
    await world.graduates(school, 1, login=False, department="数学学院")
    await world.graduates(school, 1, login=False, department="物理学院")
    await world.user("department", school_id=school["id"], department="数学学院")
    await world.user("department", school_id=school["id"], department="物理学院",
                     permissions={"employment": "read_only"})
    c = await school_client(world, client, school)
    path = f"/api/school/settings?cohort={school['cohort']}"
    resp = await c.patch(path, {"audit_mode": "department_then_school"})
    assert resp.status == 409 and resp.error == "audit_mode_department_accounts"
    assert resp.json["error"]["details"]["departments"] == ["物理学院"]
    await world.user("department", school_id=school["id"], department="物理学院")
    ok = await c.patch(path, {"audit_mode": "department_then_school"})
    assert ok.status == 200 and ok.json["settings"]["audit_mode"] == "department_then_school"


@pytest.mark.gen_test
async def test_audit_mode_cannot_change_while_records_are_in_flow(world, client, sql):
    school = await world.school()
    [g] = await world.graduates(school, login=False)
    sql("INSERT INTO records (kind, graduate_id, school_id, cohort, department, level, initiator, state, in_flow, data)"
        " VALUES ('paper', %s, %s, %s, '计算机学院', '本科', 'graduate', 'registration_audit', 1, '{}')",
        (g["id"], school["id"], school["cohort"]))
    c = await school_client(world, client, school)
    resp = await c.patch(f"/api/school/settings?cohort={school['cohort']}", {"audit_mode": "department_then_school"})
    assert resp.status == 409 and resp.error == "audit_mode_records_in_flow"


@pytest.mark.gen_test
async def test_agreement_handler_is_immutable_but_a_missing_level_may_be_added(world, client):
    school = await world.school(online_signing=False)
    c = await school_client(world, client, school)
    path = f"/api/school/settings/agreement-handlers?cohort={school['cohort']}"
    first = await c.post(path, {"mode": "per_level", "undergraduate": HANDLER})
    assert first.status == 200 and [h["level_group"] for h in first.json["settings"]["handlers"]] == ["undergraduate"]
    again = await c.post(path, {"mode": "per_level", "undergraduate": {**HANDLER, "name": "赵老师"}})
    assert again.status == 409 and again.error == "handler_immutable"
    unified = await c.post(path, {"mode": "unified", "all": HANDLER})
    assert unified.status == 409 and unified.error == "handler_level_conflict"
    added = await c.post(path, {"mode": "per_level", "postgraduate": HANDLER})
    assert {h["level_group"] for h in added.json["settings"]["handlers"]} == {"undergraduate", "postgraduate"}


@pytest.mark.gen_test
async def test_level_scoped_school_account_sets_only_its_level(world, client):
    school = await world.school(online_signing=False)
    c = await school_client(world, client, school, level_scope="postgraduate")
    path = f"/api/school/settings/agreement-handlers?cohort={school['cohort']}"
    assert (await c.post(path, {"mode": "per_level", "undergraduate": HANDLER})).error == "handler_level_forbidden"
    assert (await c.post(path, {"mode": "unified", "all": HANDLER})).error == "handler_level_forbidden"
    assert (await c.post(path, {"mode": "per_level", "postgraduate": HANDLER})).status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("field,value", [("phone", "12345"), ("postcode", "1000"), ("name", ""), ("address", "")])
async def test_bad_handler_fields_are_refused(world, client, field, value):
    school = await world.school(online_signing=False)
    c = await school_client(world, client, school)
    resp = await c.post(f"/api/school/settings/agreement-handlers?cohort={school['cohort']}",
                        {"mode": "unified", "all": {**HANDLER, field: value}})
    assert resp.status == 400 and resp.error == "invalid_input"


@pytest.mark.gen_test
async def test_department_and_read_only_accounts_cannot_change_settings(world, client):
    school = await world.school()
    dept = client()
    await dept.login(await world.user("department", school_id=school["id"], department="计算机学院"))
    ro = await school_client(world, client, school, permissions={"employment": "read_only"})
    path = f"/api/school/settings?cohort={school['cohort']}"
    assert (await dept.patch(path, {"max_cancellations": 5})).status == 403
    resp = await ro.patch(path, {"max_cancellations": 5})
    assert resp.status == 403 and resp.error == "read_only"
    assert (await ro.get(path)).status == 200


@pytest.mark.gen_test
async def test_settings_changes_are_logged_for_the_school_and_its_province(world, client):
    school = await world.school()
    c = await school_client(world, client, school)
    await c.patch(f"/api/school/settings?cohort={school['cohort']}", {"max_cancellations": 7})
    mine = await c.get("/api/operations?target_type=school_settings")
    assert any("解约申请次数上限：7" in i["summary"] for i in mine.json["items"])
    prov = await province_user(world, client, school["province"])
    assert any("解约申请次数上限：7" in i["summary"] for i in (await prov.get("/api/operations")).json["items"])
    other = await province_user(world, client, await world.province())
    assert not any("解约申请次数上限：7" in i["summary"] for i in (await other.get("/api/operations")).json["items"])
