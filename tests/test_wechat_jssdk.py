"""JS-SDK wx.config data, the emulator's inbox page, and the OpenAPI document of the WeChat JSON routes."""
from __future__ import annotations

import pytest

from handlers.openapi import documented_routes, openapi_path
from tests import test_wechat_support as support
from tests.test_wechat_support import new_openid
from wechat.jssdk import JS_API_LIST, jsapi_signature

start_emulator, emulator, wx_config, app = support.start_emulator, support.emulator, support.wx_config, support.app


def test_signature_matches_wechats_documented_example():
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    signature = jsapi_signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value")
    assert signature == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


async def logged_in_graduate(client, world):
    school = await world.school()
    g = (await world.graduates(school))[0]
    c = client()
    await c.login(g["username"])
    return c


@pytest.mark.gen_test
async def test_config_signs_the_page_url_without_fragment(client, world, wx_config, emulator):
    c = await logged_in_graduate(client, world)
    page = wx_config.public_base_url + "/wx/records/1?tab=photo"
    resp = await c.get("/api/wechat/jssdk-config?url=" + _quote(page + "#top"))
    assert resp.status == 200, resp
    cfg = resp.json
    ticket = emulator.state.tickets[emulator.appid].value
    assert cfg["appId"] == wx_config.wechat_app_id
    assert cfg["signature"] == jsapi_signature(ticket, cfg["nonceStr"], cfg["timestamp"], page)
    assert {"chooseImage", "uploadImage"} <= set(cfg["jsApiList"]) and cfg["jsApiList"] == JS_API_LIST
    again = await c.get("/api/wechat/jssdk-config?url=" + _quote(page))
    assert again.status == 200 and emulator.stat("ticket_issues") == 1  # the ticket is cached


@pytest.mark.gen_test
@pytest.mark.parametrize("url", ["https://evil.example.com/wx/home", "javascript:alert(1)//localhost",
                                 "http://localhost.evil.example.com/wx/home", "ftp://localhost/x"])
async def test_foreign_urls_are_refused(client, world, url):
    c = await logged_in_graduate(client, world)
    resp = await c.get("/api/wechat/jssdk-config?url=" + _quote(url))
    assert resp.status == 400 and resp.error == "wechat_jssdk_url_foreign"


@pytest.mark.gen_test
async def test_config_needs_a_login(client, wx_config):
    resp = await client().get("/api/wechat/jssdk-config?url=" + _quote(wx_config.public_base_url + "/wx/home"))
    assert resp.status == 401


@pytest.mark.gen_test
async def test_config_when_wechat_is_down_is_503(client, world, wx_config, emulator):
    c = await logged_in_graduate(client, world)
    await emulator.control("fail", {"path": "/cgi-bin/stable_token", "mode": "http500"})
    resp = await c.get("/api/wechat/jssdk-config?url=" + _quote(wx_config.public_base_url + "/wx/home"))
    assert resp.status == 503 and resp.error == "wechat_unavailable"


@pytest.mark.gen_test
async def test_inbox_shows_messages_newest_first_escaped(emulator, wx_config, app):
    from wechat.service import wechat_of
    openid = new_openid()
    await emulator.user(openid)
    api = wechat_of(app).api
    for unit in ("<b>第一家</b>单位", "第二家单位"):
        await api.send_template(openid, "demo_tpl_invitation", {
            "thing1": {"value": unit}, "thing2": {"value": "岗位"}, "time3": {"value": "2026年06月30日"}})
    resp = await emulator.request("GET", f"inbox?openid={openid}")
    body = resp.body.decode()
    assert resp.code == 200 and "签约邀请通知" in body
    assert "&lt;b&gt;第一家&lt;/b&gt;" in body and "<b>第一家" not in body
    assert body.index("第二家单位") < body.index("第一家")


@pytest.mark.gen_test
async def test_openapi_documents_the_wechat_json_routes(client, app):
    doc = (await client().get("/api/openapi.json")).json
    wechat_routes = [(p, h) for p, h in documented_routes(app.routes) if p.startswith("/api/wechat/")]
    assert len(wechat_routes) == 2
    for pattern, _ in wechat_routes:
        assert doc["paths"][openapi_path(pattern)[0]]["get"]["x-permission"] != "public"


def _quote(value: str) -> str:
    from urllib.parse import quote
    return quote(value, safe="")
