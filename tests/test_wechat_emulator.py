"""The WeChat emulator speaks the documented wire protocol (what our client relies on is checked here)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from emulators.wechat_rules import EmulatedError, check_menu, check_template_data
from tests import test_wechat_support as support
from wechat.menu import build_menu

start_emulator, emulator = support.start_emulator, support.emulator


async def call(emulator, method: str, path: str, body=None) -> dict:
    resp = await emulator.request(method, path, body)
    assert resp.code == 200
    return json.loads(resp.body)


def stable_body(emulator, **kw) -> dict:
    return {"grant_type": "client_credential", "appid": emulator.appid, "secret": emulator.secret, **kw}


@pytest.mark.gen_test
async def test_token_endpoint_checks_its_arguments(emulator):
    def q(**kw):
        return "cgi-bin/token?" + urlencode({"grant_type": "client_credential", "appid": emulator.appid,
                                              "secret": emulator.secret, **kw})
    assert (await call(emulator, "GET", q(grant_type="password")))["errcode"] == 40002
    assert (await call(emulator, "GET", q(appid="wx_unknown")))["errcode"] == 40013
    assert (await call(emulator, "GET", q(secret="nope")))["errcode"] == 40125
    first = await call(emulator, "GET", q())
    second = await call(emulator, "GET", q())
    assert first["expires_in"] == 7200 and first["access_token"] != second["access_token"]
    # the previous token keeps working for a while
    ticket = await call(emulator, "GET", f"cgi-bin/ticket/getticket?type=jsapi&access_token={first['access_token']}")
    assert ticket["errcode"] == 0


@pytest.mark.gen_test
async def test_stable_token_normal_mode_repeats_force_mode_revokes(emulator):
    first = await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator))
    again = await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator, force_refresh=False))
    assert first["access_token"] == again["access_token"] and 7190 < again["expires_in"] <= 7200
    forced = await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator, force_refresh=True))
    assert forced["access_token"] != first["access_token"]
    old = await call(emulator, "GET", f"cgi-bin/ticket/getticket?type=jsapi&access_token={first['access_token']}")
    assert old["errcode"] == 40001
    # forcing again within 30 seconds does not refresh
    soon = await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator, force_refresh=True))
    assert soon["access_token"] == forced["access_token"]
    assert emulator.stat("token_issues") == 2


@pytest.mark.gen_test
async def test_stable_token_errors(emulator):
    assert (await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator, secret="x")))["errcode"] == 40125
    assert (await call(emulator, "POST", "cgi-bin/stable_token", b"not json"))["errcode"] == 47001
    assert (await call(emulator, "GET", "cgi-bin/stable_token"))["errcode"] == 43002


@pytest.mark.gen_test
async def test_api_calls_check_the_token(emulator):
    assert (await call(emulator, "POST", "cgi-bin/menu/create", {"button": []}))["errcode"] == 41001
    answer = await call(emulator, "POST", "cgi-bin/menu/create?access_token=made-up", {"button": []})
    assert answer["errcode"] == 40001 and answer["errmsg"].startswith("invalid credential") and " rid: " in answer["errmsg"]
    token = (await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator)))["access_token"]
    await emulator.control("expire_tokens", {"as": "expired"})
    assert (await call(emulator, "POST", f"cgi-bin/menu/create?access_token={token}", {"button": []}))["errcode"] == 42001


@pytest.mark.gen_test
async def test_reset_forgets_everything(emulator):
    await emulator.user("o_reset_me")
    await call(emulator, "POST", "cgi-bin/stable_token", stable_body(emulator))
    await emulator.control("reset")
    assert emulator.state.users[emulator.appid] == {} and emulator.stat("token_issues") == 0
    stats = await call(emulator, "GET", "_control/stats")
    assert stats["token_issues"] == 0 and stats["calls"] == {}


def test_template_rules():
    keywords = ("thing1", "character_string2", "time3", "amount4", "phrase5", "name6", "phone_number7")
    good = {"thing1": {"value": "二十个字以内的事物名称"}, "character_string2": {"value": "AB-2026-0001"},
            "time3": {"value": "2026年06月30日 18:00"}, "amount4": {"value": "¥1200.50元"},
            "phrase5": {"value": "审核通过"}, "name6": {"value": "张三"}, "phone_number7": {"value": "010-62751111"}}
    check_template_data(keywords, good)
    bad = [("thing1", "超" * 21), ("character_string2", "中文编号"), ("time3", "明天"), ("amount4", "一千元"),
           ("phrase5", "审核已经通过"), ("name6", "张三123"), ("phone_number7", "1" * 18), ("thing1", "两\n行")]
    for key, value in bad:
        with pytest.raises(EmulatedError) as err:
            check_template_data(keywords, {**good, key: {"value": value}})
        assert err.value.errcode == 47003 and f"data.{key}.value invalid" in err.value.errmsg
    check_template_data(("keyword1",), {"keyword1": {"value": "长" * 40}, "first": {"value": "x"}})  # folded
    with pytest.raises(EmulatedError):
        check_template_data(("thing1",), {"thing1": "not an object"})


def test_menu_rules():
    check_menu(build_menu("https://wq.example.edu.cn"))
    cases = [
        ({"button": []}, 40016),
        ({"button": [{"type": "dance", "name": "跳舞", "key": "K"}]}, 40017),
        ({"button": [{"type": "click", "name": "帮助"}]}, 40019),
        ({"button": [{"type": "view", "name": "首页", "url": "ftp://x"}]}, 40055),
        ({"button": [{"name": "更多", "sub_button": [{"type": "click", "name": f"子{i}", "key": "k"}
                                                   for i in range(6)]}]}, 40023),
        ({"button": [{"name": "更多", "sub_button": [{"type": "view", "name": "子", "url": "x" * 1100}]}]}, 40027),
    ]
    for menu, errcode in cases:
        with pytest.raises(EmulatedError) as err:
            check_menu(menu)
        assert err.value.errcode == errcode, menu
