"""Warning employers (预警单位): schools mark units; the school's graduates and auditors see the warning, and
everyone does once five schools mark the same unit; the unit itself does not."""
from __future__ import annotations

import pytest

from tests.flows import UNIT, Flow

MARK = {"credit_code": UNIT["credit_code"], "unit_name": UNIT["unit_name"], "category": "discrimination",
        "note": "招聘中存在性别歧视"}


@pytest.mark.gen_test
async def test_school_marks_and_its_graduate_and_auditors_see_the_warning(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.invite()).json["record"]["id"]
    assert (await f.G.get(f"/api/records/{rid}")).json["record"]["unit_warning"] is None
    resp = await f.S.post("/api/school/warnings", MARK)
    assert resp.status == 201
    for who in (f.G, f.S, f.D):
        warning = (await who.get(f"/api/records/{rid}")).json["record"]["unit_warning"]
        assert warning["marked_by_school"] and "涉及就业歧视" in warning["text"]
    assert (await f.E.get(f"/api/records/{rid}")).json["record"]["unit_warning"] is None
    listed = (await f.S.get("/api/school/warnings")).json["items"]
    assert [w["unit_name"] for w in listed] == [UNIT["unit_name"]] and not listed[0]["nationwide"]
    again = await f.S.post("/api/school/warnings", MARK)
    assert again.status == 409 and again.error == "warning_exists"


@pytest.mark.gen_test
async def test_other_schools_see_it_only_once_five_schools_marked(world, client, sql):
    f = await Flow(world, client, sql).setup()
    code = "91350100M000100Y43"
    rid = (await f.invite(data={**UNIT, "credit_code": code})).json["record"]["id"]
    for i in range(5):
        school = await world.school()
        c = client()
        await c.login(await world.user("school", school_id=school["id"]))
        assert (await c.post("/api/school/warnings", {**MARK, "credit_code": code})).status == 201
        warning = (await f.G.get(f"/api/records/{rid}")).json["record"]["unit_warning"]
        if i < 4:
            assert warning is None
        else:
            assert warning["nationwide"] and warning["schools"] == 5 and not warning["marked_by_school"]


@pytest.mark.gen_test
async def test_only_read_write_school_accounts_mark(world, client, sql):
    f = await Flow(world, client, sql).setup()
    assert (await f.D.post("/api/school/warnings", MARK)).status == 403
    ro = await f.login(await world.user("school", school_id=f.school["id"], permissions={"employment": "read_only"}))
    resp = await ro.post("/api/school/warnings", MARK)
    assert resp.status == 403 and resp.error == "read_only"
    assert (await f.G.post("/api/school/warnings", MARK)).status == 403
    assert (await ro.get("/api/school/warnings")).status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("change,code", [({"credit_code": "91350100M000100Y44"}, "invalid_credit_code"),
                                         ({"category": "rude"}, "invalid_input")])
async def test_bad_marks_are_refused(world, client, sql, change, code):
    f = await Flow(world, client, sql).setup()
    resp = await f.S.post("/api/school/warnings", {**MARK, **change})
    assert resp.status == 400 and resp.error == code


@pytest.mark.gen_test
async def test_change_and_remove_only_my_schools_warning(world, client, sql):
    f = await Flow(world, client, sql).setup()
    wid = (await f.S.post("/api/school/warnings", MARK)).json["warning"]["id"]
    other = await world.school()
    oc = client()
    await oc.login(await world.user("school", school_id=other["id"]))
    assert (await oc.request("DELETE", f"/api/school/warnings/{wid}")).status == 404
    assert (await f.S.patch(f"/api/school/warnings/{wid}", {"category": "fake"})).status == 200
    assert (await f.S.get("/api/school/warnings")).json["items"][0]["category_text"] == "虚假单位"
    assert (await f.S.request("DELETE", f"/api/school/warnings/{wid}")).status == 200
    assert (await f.S.get("/api/school/warnings")).json["items"] == []
    log = (await f.S.get("/api/operations?target_type=employer_warning")).json["items"]
    assert [i["action"] for i in log] == ["warning.remove", "warning.change", "warning.mark"]
