"""The employer's web pages over HTTP: who gets in, refusals that keep what was typed, and the confirmation page
that stands in for the dialog without JavaScript (the journey itself runs in tests/test_browser_employer.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from signing import clock
from tests.flows import UNIT
from tests.test_wechat_support import post_form


def text(resp) -> str:
    return resp.body.decode()


@pytest.mark.gen_test
async def test_pages_need_an_employer_login_and_other_roles_are_sent_away(world, client):
    school = await world.school()
    [g] = await world.graduates(school)
    anonymous = client()
    resp = await anonymous.get("/employer/invite")
    assert resp.status == 302 and resp.headers["Location"] == "/employer/login?next=%2Femployer%2Finvite"
    refused = await post_form(anonymous, "/employer/login", {"username": g["username"], "password": "demo2026pass"})
    assert refused.status in (401, 403) and "单位账号" in text(refused) and g["username"] in text(refused)
    assert "session" not in anonymous.cookies


@pytest.mark.gen_test
async def test_an_uncertified_unit_is_told_and_an_unknown_graduate_keeps_what_was_typed(world, client):
    pending = await world.employer(certification="pending")
    c = client()
    await c.login(pending["username"])
    page = await c.get("/employer/invite")
    assert page.status == 200 and "尚未通过实名认证" in text(page) and 'name="id_number"' not in text(page)

    [g] = await world.graduates(await world.school())
    certified = await world.employer()
    c = client()
    await c.login(certified["username"])
    unknown = await post_form(c, "/employer/invite", {"step": "search", "name": "查无此人", "id_number": g["id_number"]})
    assert unknown.status == 404 and "未找到该毕业生" in text(unknown)
    assert 'value="查无此人"' in text(unknown) and f'value="{g["id_number"]}"' in text(unknown)


@pytest.mark.gen_test
async def test_a_refused_invitation_shows_the_form_again_with_every_detail(world, client, sql):
    school = await world.school()
    [g] = await world.graduates(school)
    employer = await world.employer()
    c = client()
    await c.login(employer["username"])
    found = await post_form(c, "/employer/invite", {"step": "search", "name": g["name"], "id_number": g["id_number"]})
    assert found.status == 200 and "第二步" in text(found) and g["name"] in text(found)
    fields = {k: ("yes" if v is True else str(v)) for k, v in UNIT.items()}
    too_soon = clock.now() + timedelta(minutes=10)
    refused = await post_form(c, "/employer/invite", {
        "step": "invite", "name": g["name"], "id_number": g["id_number"], **fields, "salary": "月薪9000元",
        "report_date": "2027-07-01", "deadline": too_soon.strftime("%Y-%m-%dT%H:%M")})
    html = text(refused)
    assert refused.status == 400 and "应约截止时间须在1小时后" in html
    for value in (UNIT["unit_name"], UNIT["supplementary_terms"], "月薪9000元", "2027-07-01", too_soon.strftime("%Y-%m-%dT%H:%M")):
        assert value in html, value
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s", (g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_without_javascript_a_cancellation_request_asks_on_a_page_first(world, client, sql):
    school = await world.school()
    [g] = await world.graduates(school)
    employer = await world.employer()
    c = client()
    await c.login(employer["username"])
    invited = await c.post("/api/employer/invitations", {
        "name": g["name"], "id_number": g["id_number"], "data": UNIT,
        "deadline": (clock.now() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")})
    assert invited.status == 201, invited
    rid = invited.json["record"]["id"]
    gc = client()
    await gc.login(g["username"])
    assert (await gc.post(f"/api/records/{rid}/actions/accept", {})).status == 200
    sc = client()
    await sc.login(await world.user("school", school_id=school["id"]))
    passed = await sc.post(f"/api/records/{rid}/actions/pass", {})
    assert passed.status == 200, passed
    version = sql("SELECT version FROM records WHERE id=%s", (rid,))[0]["version"]

    form = {"version": version, "reason": "单位原因", "explanation": "岗位撤销"}
    asked = await post_form(c, f"/employer/records/{rid}/act/request_cancel", form)
    html = text(asked)
    assert asked.status == 200 and "确定申请解约吗" in html and 'name="confirmed"' in html and 'value="岗位撤销"' in html
    assert sql("SELECT state FROM records WHERE id=%s", (rid,))[0]["state"] == "signed"
    done = await post_form(c, f"/employer/records/{rid}/act/request_cancel", {**form, "confirmed": "1"})
    assert done.status == 302 and done.headers["Location"] == f"/employer/records/{rid}?done=request_cancel"
    assert sql("SELECT state FROM records WHERE id=%s", (rid,))[0]["state"] == "cancel_pending_graduate"
    page = await c.get(done.headers["Location"])
    assert "已完成：申请解约" in text(page) and "岗位撤销" in text(page)
