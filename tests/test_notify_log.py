"""The delivery log: graduates see their own messages, schools and departments their graduates' deliveries
(recipients masked), nobody else's; and the demo page of emulated phones."""
from __future__ import annotations

import pytest

from server.app import collect_routes
from tests import test_notify_support as support
from tests.flows import Flow
from tests.test_api_clients import check
from tests.test_notify_support import bind, drain

start_emulator, emulator, sms_emulator, app, notifier = (
    support.start_emulator, support.emulator, support.sms_emulator, support.app, support.notifier)


async def school_with_messages(world, client, sql, emulator, notifier):
    """Two graduates invited: the first bound to WeChat, the second reached by SMS."""
    f = await Flow(world, client, sql).setup(graduates=2)
    await bind(sql, emulator, f.graduates[0])
    for g in f.graduates:
        await f.invite(graduate=g)
    await drain(notifier, sql, [g["id"] for g in f.graduates])
    f.G2 = await f.login(f.graduates[1]["username"])
    return f


@pytest.mark.gen_test(timeout=30)
async def test_graduates_see_their_own_messages_only(world, client, sql, emulator, notifier):
    f = await school_with_messages(world, client, sql, emulator, notifier)
    mine = await f.G.get("/api/graduate/messages")
    assert mine.status == 200 and mine.json["total"] == 1
    [m] = mine.json["items"]
    assert (m["channel_text"], m["status_text"], m["template_text"]) == ("微信模板消息", "已发送", "签约邀请通知")
    assert m["content"].startswith("签约邀请通知｜") and m["sent_at"] and "recipient_masked" not in m
    other = await f.G2.get("/api/graduate/messages?page=1")
    assert [(i["channel"], i["status"]) for i in other.json["items"]] == [("sms", "sent"), ("wechat", "skipped")]
    assert "向您发出签约邀请" in other.json["items"][0]["content"]
    doc = (await client().get("/api/openapi.json")).json
    for answer in (mine, other):
        check(doc, "/api/graduate/messages", "get", answer)  # the answers are what the OpenAPI document says
    assert (await client().get("/api/graduate/messages")).status == 401
    assert (await f.S.get("/api/graduate/messages")).status == 403


@pytest.mark.gen_test(timeout=30)
async def test_school_sees_its_graduates_deliveries_masked_and_filtered(world, client, sql, emulator, notifier):
    f = await school_with_messages(world, client, sql, emulator, notifier)
    resp = await f.S.get("/api/school/deliveries?status=&channel=&page=")
    assert resp.status == 200 and resp.json["total"] == 3
    body = resp.body.decode()
    assert all(g["phone"] not in body for g in f.graduates) and f.g["openid"] not in body
    wechat = next(i for i in resp.json["items"] if i["channel"] == "wechat" and i["status"] == "sent")
    assert wechat["recipient_masked"] == f.g["openid"][:4] + "****" + f.g["openid"][-4:]
    assert wechat["graduate_name"] == f.g["name"] and wechat["attempts"] == 1
    sms = await f.S.get("/api/school/deliveries?channel=sms&status=sent")
    [row] = sms.json["items"]
    phone = f.graduates[1]["phone"]
    assert row["recipient_masked"] == phone[:3] + "****" + phone[-4:] and row["graduate_id"] == f.graduates[1]["id"]
    skipped = await f.D.get("/api/school/deliveries?status=skipped")  # the department of these graduates
    assert skipped.status == 200 and [i["graduate_id"] for i in skipped.json["items"]] == [f.graduates[1]["id"]]
    assert (await f.S.get("/api/school/deliveries?status=lost")).status == 400
    doc = (await client().get("/api/openapi.json")).json
    for answer in (resp, sms, skipped):
        check(doc, "/api/school/deliveries", "get", answer)


@pytest.mark.gen_test(timeout=30)
async def test_other_schools_departments_and_employers_see_nothing(world, client, sql, emulator, notifier):
    f = await school_with_messages(world, client, sql, emulator, notifier)
    other_school = await world.school()
    other = await f.login(await world.user("school", school_id=other_school["id"]))
    assert (await other.get("/api/school/deliveries")).json["total"] == 0
    other_dept = await f.login(await world.user("department", school_id=f.school["id"], department="外国语学院"))
    assert (await other_dept.get("/api/school/deliveries")).json["total"] == 0
    no_access = await f.login(await world.user("school", school_id=f.school["id"], permissions={"employment": "none"}))
    assert (await no_access.get("/api/school/deliveries")).status == 403
    assert (await f.E.get("/api/school/deliveries")).status == 403
    assert (await f.G.get("/api/school/deliveries")).status == 403


@pytest.mark.gen_test(timeout=30)
async def test_both_routes_are_in_the_openapi_document(client):
    doc = (await client().get("/api/openapi.json")).json
    assert doc["paths"]["/api/graduate/messages"]["get"]["x-permission"] == "graduate.self"
    assert doc["paths"]["/api/school/deliveries"]["get"]["x-permission"] == "notify.deliveries.read"


@pytest.mark.gen_test(timeout=30)
async def test_demo_page_shows_what_each_phone_and_wechat_received(world, client, sql, emulator, notifier, app):
    f = await school_with_messages(world, client, sql, emulator, notifier)
    page = await client().get(f"/demo/phones?school={f.school['code']}")
    body = page.body.decode()
    assert page.status == 200 and f.g["name"] in body and f.graduates[1]["name"] in body
    assert "签约邀请通知" in body and "用人单位：北京示范科技有限公司" in body  # the WeChat message
    assert f"{f.graduates[1]['name']}同学，北京示范科技有限公司向您发出签约邀请" in body  # the SMS
    assert f"inbox?phone={f.graduates[1]['phone']}" in body and "模拟器未响应" not in body
    # production never has the page: the app does not even import it (tests/test_layout.py)
    assert "/demo/phones" not in {route[0] for route in collect_routes("production")}
