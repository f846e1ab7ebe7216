"""WeChatApi against the emulator: the shared access_token (one refresher, one retry), template messages
and the classification of their errors, menu, JS-SDK ticket, media, OAuth code exchange."""
from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from tests import test_wechat_support as support
from tests.test_wechat_support import new_openid, settings_for
from wechat.client import WeChatApi, WeChatError
from wechat.menu import build_menu, publish_menu

start_emulator, emulator, wx_config, app = support.start_emulator, support.emulator, support.wx_config, support.app
SEND = "/cgi-bin/message/template/send"
TEMPLATE = "demo_tpl_invitation"
DATA = {"thing1": {"value": "北京示范科技有限公司"}, "thing2": {"value": "软件工程师"},
        "time3": {"value": "2026年06月30日 18:00"}}


@pytest.fixture
def redis_clients(wx_config, io_loop):
    """Separate connections to the same Redis, as separate processes would have."""
    clients = []

    def make():
        clients.append(aioredis.from_url(wx_config.redis_url, decode_responses=True))
        return clients[-1]
    yield make
    for c in clients:
        io_loop.run_sync(c.aclose)


@pytest.fixture
def wx_api(wx_config, redis_clients):
    return lambda **kw: WeChatApi(wx_config, redis_clients(), **kw)


async def subscriber(emulator, state="subscribed") -> str:
    openid = new_openid()
    await emulator.user(openid, state)
    return openid


# -- access_token shared by processes ---------------------------------------------------------------------

@pytest.mark.gen_test(timeout=30)
async def test_two_processes_share_one_token_and_one_refresh_after_expiry(start_emulator, config, base_url,
                                                                           redis_clients):
    emu = start_emulator(token_ttl=4)  # cached 2 s, then stable_token hands out the next one
    cfg = settings_for(config, emu, base_url)
    first, second = WeChatApi(cfg, redis_clients()), WeChatApi(cfg, redis_clients())
    openid = await subscriber(emu)
    await asyncio.gather(first.send_template(openid, TEMPLATE, DATA), second.send_template(openid, TEMPLATE, DATA))
    assert emu.stat("token_issues") == 1 and emu.stat("token_requests") == 1
    await asyncio.sleep(2.2)
    results = await asyncio.gather(*(api.send_template(openid, TEMPLATE, DATA) for api in (first, second) * 3))
    assert all(r["errcode"] == 0 for r in results)
    assert emu.stat("token_issues") == 2 and emu.stat("token_requests") == 2
    assert emu.calls(SEND) == 8  # no call was refused and retried


@pytest.mark.gen_test
async def test_thirty_parallel_sends_of_a_process_read_the_token_from_its_memory_not_redis(emulator, wx_api):
    """The notifier sends hundreds of messages a second: the token read from Redis is kept in the process (at
    most LOCAL_SECONDS, never past its Redis expiry: the test above); a refused one is read again at once."""
    api = wx_api()
    openid = await subscriber(emulator)
    await api.send_template(openid, TEMPLATE, DATA)
    reads, pipeline = [], api.redis.pipeline
    api.redis.pipeline = lambda *a, **k: reads.append(1) or pipeline(*a, **k)
    results = await asyncio.gather(*(api.send_template(openid, TEMPLATE, DATA) for _ in range(30)))
    assert all(r["errcode"] == 0 for r in results) and reads == []
    await emulator.control("expire_tokens")
    assert (await api.send_template(openid, TEMPLATE, DATA))["errcode"] == 0
    assert reads == [1] and emulator.stat("token_issues") == 2


@pytest.mark.gen_test
async def test_invalid_token_means_one_refresh_and_one_retry(emulator, wx_api):
    api = wx_api()
    openid = await subscriber(emulator)
    await api.send_template(openid, TEMPLATE, DATA)
    old = await api.access_token()
    await emulator.control("expire_tokens")  # WeChat now answers 40001 for it
    result = await api.send_template(openid, TEMPLATE, DATA)
    assert result["errcode"] == 0 and result["msgid"]
    assert emulator.stat("token_issues") == 2 and emulator.stat("token_requests") == 2
    assert emulator.calls(SEND) == 3  # first send, the refused one, its single retry
    assert await api.access_token() != old


@pytest.mark.gen_test
async def test_expired_token_42001_is_replaced_the_same_way(emulator, wx_api):
    api = wx_api()
    openid = await subscriber(emulator)
    await api.send_template(openid, TEMPLATE, DATA)
    await emulator.control("expire_tokens", {"as": "expired"})
    assert (await api.send_template(openid, TEMPLATE, DATA))["errcode"] == 0
    assert emulator.stat("token_issues") == 2


@pytest.mark.gen_test(timeout=30)
async def test_twenty_concurrent_calls_on_a_dead_token_refresh_once(emulator, wx_api):
    apis = [wx_api() for _ in range(4)]  # four processes, five calls each
    openid = await subscriber(emulator)
    await apis[0].send_template(openid, TEMPLATE, DATA)
    await emulator.control("expire_tokens")
    results = await asyncio.gather(*(apis[i % 4].send_template(openid, TEMPLATE, DATA) for i in range(20)))
    assert all(r["errcode"] == 0 for r in results)
    assert len({r["msgid"] for r in results}) == 20
    assert emulator.stat("token_issues") == 2 and emulator.stat("token_requests") == 2


@pytest.mark.gen_test
async def test_token_refused_again_after_the_retry_is_a_retryable_error(emulator, wx_api):
    api = wx_api()
    openid = await subscriber(emulator)
    await api.access_token()
    await emulator.control("fail", {"path": SEND, "errcode": 40001, "times": 5})
    with pytest.raises(WeChatError) as err:
        await api.send_template(openid, TEMPLATE, DATA)
    assert err.value.errcode == 40001 and err.value.retryable
    assert emulator.calls(SEND) == 2  # one retry, never a storm


@pytest.mark.gen_test
async def test_wrong_secret_is_a_permanent_error(start_emulator, config, base_url, redis_clients):
    emu = start_emulator()
    cfg = settings_for(config, emu, base_url)
    from dataclasses import replace
    api = WeChatApi(replace(cfg, wechat_app_secret="wrong"), redis_clients())
    with pytest.raises(WeChatError) as err:
        await api.send_template(new_openid(), TEMPLATE, DATA)
    assert err.value.errcode == 40125 and err.value.permanent


# -- template messages ------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_send_template_returns_msgid_and_the_user_receives_it(emulator, wx_api):
    openid = await subscriber(emulator)
    result = await wx_api().send_template(openid, TEMPLATE, DATA, url="https://example.edu.cn/wx/home")
    assert result["errcode"] == 0 and isinstance(result["msgid"], int)
    sent = (await emulator.request("GET", f"_control/messages?touser={openid}")).body
    [message] = json.loads(sent)["messages"]
    assert message["msgid"] == result["msgid"] and message["data"] == DATA
    assert message["url"] == "https://example.edu.cn/wx/home"


@pytest.mark.gen_test
@pytest.mark.parametrize("state,errcode", [("unsubscribed", 43004), ("refused", 43101)])
async def test_users_who_cannot_receive_are_not_subscribed(emulator, wx_api, state, errcode):
    openid = await subscriber(emulator, state)
    with pytest.raises(WeChatError) as err:
        await wx_api().send_template(openid, TEMPLATE, DATA)
    assert err.value.errcode == errcode and err.value.not_subscribed and err.value.kind == "not_subscribed"
    assert not err.value.retryable and not err.value.permanent


@pytest.mark.gen_test
@pytest.mark.parametrize("template,data,errcode", [
    ("no_such_template", DATA, 40037),
    (TEMPLATE, {**DATA, "thing1": {"value": "一个名称非常非常长的用人单位有限责任公司北京分公司"}}, 47003),
    (TEMPLATE, {**DATA, "thing2": {"value": "软件\n工程师"}}, 47003),
    (TEMPLATE, {"thing1": {"value": "单位"}}, 47003),
    ("demo_tpl_audit_result", {"thing1": {"value": "签约"}, "phrase2": {"value": "审核已经通过了"},
                               "thing3": {"value": "无"}}, 47003),
])
async def test_refused_content_is_permanent(emulator, wx_api, template, data, errcode):
    openid = await subscriber(emulator)
    with pytest.raises(WeChatError) as err:
        await wx_api().send_template(openid, template, data)
    assert err.value.errcode == errcode and err.value.permanent
    if errcode == 47003:
        assert err.value.errmsg.startswith("argument invalid! data.")


@pytest.mark.gen_test
async def test_unknown_openid_is_permanent(emulator, wx_api):
    with pytest.raises(WeChatError) as err:
        await wx_api().send_template(new_openid(), TEMPLATE, DATA)
    assert err.value.errcode == 40003 and err.value.permanent


@pytest.mark.gen_test
async def test_daily_quota_means_wait(start_emulator, config, base_url, redis_clients):
    emu = start_emulator(daily_quota=1)
    api = WeChatApi(settings_for(config, emu, base_url), redis_clients())
    openid = await subscriber(emu)
    await api.send_template(openid, TEMPLATE, DATA)
    with pytest.raises(WeChatError) as err:
        await api.send_template(openid, TEMPLATE, DATA)
    assert err.value.errcode == 45009 and err.value.wait and not err.value.retryable


@pytest.mark.gen_test
async def test_injected_errcodes_surface_with_their_kind(emulator, wx_api):
    api = wx_api()
    openid = await subscriber(emulator)
    for errcode, kind in ((45009, "wait"), (-1, "retryable"), (43004, "not_subscribed"), (40003, "permanent")):
        await emulator.control("fail", {"path": SEND, "errcode": errcode})
        with pytest.raises(WeChatError) as err:
            await api.send_template(openid, TEMPLATE, DATA)
        assert (err.value.errcode, err.value.kind) == (errcode, kind)
    assert (await api.send_template(openid, TEMPLATE, DATA))["errcode"] == 0  # failures were used up


@pytest.mark.gen_test(timeout=20)
async def test_timeout_is_retryable(emulator, wx_api):
    api = wx_api(timeout=(1.0, 0.3))
    openid = await subscriber(emulator)
    await api.access_token()
    await emulator.control("fail", {"path": SEND, "mode": "timeout", "delay": 1.0})
    with pytest.raises(WeChatError) as err:
        await api.send_template(openid, TEMPLATE, DATA)
    assert err.value.timeout and err.value.errcode is None and err.value.retryable
    await asyncio.sleep(0.8)  # let the emulator finish its slow answer


@pytest.mark.gen_test
async def test_http_500_is_retryable(emulator, wx_api):
    api = wx_api()
    openid = await subscriber(emulator)
    await emulator.control("fail", {"path": SEND, "mode": "http500"})
    with pytest.raises(WeChatError) as err:
        await api.send_template(openid, TEMPLATE, DATA)
    assert err.value.http_status == 500 and err.value.retryable


def test_classification_table():
    def kind(errcode, **kw):
        return WeChatError(errcode, "x", **kw).kind
    assert [kind(c) for c in (-1, 40001, 42001)] == ["retryable"] * 3
    assert [kind(c) for c in (45009, 45011)] == ["wait"] * 2
    assert [kind(c) for c in (43004, 43101)] == ["not_subscribed"] * 2
    assert [kind(c) for c in (40003, 40037, 47003, 40125, 40164)] == ["permanent"] * 5
    assert kind(None, timeout=True) == "retryable"
    assert kind(None, http_status=502) == "retryable" and kind(None, http_status=404) == "permanent"


# -- menu, JS-SDK ticket, media, OAuth --------------------------------------------------------------

@pytest.mark.gen_test
async def test_menu_is_published_through_the_api(emulator, wx_config):
    result = await publish_menu(wx_config)
    assert result["errcode"] == 0
    assert emulator.state.menus[emulator.appid] == build_menu(wx_config.public_base_url)
    entry = emulator.state.menus[emulator.appid]["button"][0]
    assert entry["name"] == "网签/去向登记" and entry["url"].endswith("/wx/oauth?next=/wx/home")


@pytest.mark.gen_test
async def test_invalid_menu_is_refused(emulator, wx_api):
    buttons = [{"type": "click", "name": f"按钮{i}", "key": f"K{i}"} for i in range(4)]
    with pytest.raises(WeChatError) as err:
        await wx_api().create_menu({"button": buttons})
    assert err.value.errcode == 40016 and err.value.permanent
    with pytest.raises(WeChatError) as err:
        await wx_api().create_menu({"button": [{"type": "click", "name": "这个菜单名字实在太长了", "key": "K"}]})
    assert err.value.errcode == 40018


@pytest.mark.gen_test
async def test_jsapi_ticket_is_fetched_once_for_all_processes(emulator, wx_api):
    tickets = await asyncio.gather(*(wx_api().get_jsapi_ticket() for _ in range(5)))
    assert len(set(tickets)) == 1 and tickets[0] == emulator.state.tickets[emulator.appid].value
    assert emulator.stat("ticket_issues") == 1 and emulator.calls("/cgi-bin/ticket/getticket") == 1


@pytest.mark.gen_test
async def test_media_download_returns_bytes_and_type(emulator, wx_api):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    uploaded = json.loads((await emulator.request("POST", "_control/media", png,
                                                  headers={"Content-Type": "image/png"})).body)
    content, content_type = await wx_api().download_media(uploaded["media_id"])
    assert content == png and content_type == "image/png"
    with pytest.raises(WeChatError) as err:
        await wx_api().download_media("no-such-media")
    assert err.value.errcode == 40007 and err.value.permanent


@pytest.mark.gen_test
async def test_oauth_code_is_single_use(emulator, wx_api):
    openid = new_openid()
    code = emulator.state.issue_code(emulator.appid, openid)
    api = wx_api()
    assert await api.oauth_openid(code) == openid
    with pytest.raises(WeChatError) as err:
        await api.oauth_openid(code)
    assert err.value.errcode == 40163
    with pytest.raises(WeChatError) as err:
        await api.oauth_openid("forged-code")
    assert err.value.errcode == 40029


def test_every_wechatpy_url_goes_to_the_configured_base(wx_config, emulator):
    api = WeChatApi(wx_config, redis=None)
    assert api.client.API_BASE_URL == emulator.base + "cgi-bin/"
    assert api.client.wxa.API_BASE_URL.startswith(emulator.base)


@pytest.mark.gen_test
async def test_proxy_variables_are_read_once_per_client_and_still_obeyed(emulator, wx_api, monkeypatch):
    """requests would read HTTP_PROXY, NO_PROXY and ~/.netrc at every call (a third of the call's CPU); the
    client reads them once when made (wechat.client.pin_environment), with the same meaning."""
    openid = await subscriber(emulator)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there: every call through it fails
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = wx_api()
    with pytest.raises(WeChatError) as err:
        await proxied.send_template(openid, TEMPLATE, DATA)
    assert err.value.retryable and err.value.errcode is None  # a network error, not a WeChat answer
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert (await wx_api().send_template(openid, TEMPLATE, DATA))["errcode"] == 0  # made now: goes direct
    monkeypatch.delenv("HTTP_PROXY")
    with pytest.raises(WeChatError):  # what a client read when made holds for its life
        await proxied.send_template(openid, TEMPLATE, DATA)
