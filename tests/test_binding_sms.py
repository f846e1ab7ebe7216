"""Binding WeChat with an SMS code: the code is sent at once, proves the phone, and binds like the password;
every refusal has its page; unknown and staff phones get the same answer as graduates' (no enumeration)."""
from __future__ import annotations

import re
import time

import pytest

from sms import limits
from tests import test_notify_support as support
from tests.test_notify_support import sms_fail, sms_received
from tests.test_wechat_support import new_openid, post_form, wechat_visit

start_emulator, emulator, sms_emulator, app = (support.start_emulator, support.emulator, support.sms_emulator,
                                               support.app)
NEXT = "/wx/home"


async def in_wechat(client, emulator):
    """A browser inside WeChat, not bound yet: it lands on the binding form."""
    c = client()
    resp = await wechat_visit(c, emulator, new_openid(), NEXT)
    assert resp.status == 302 and resp.headers["Location"].startswith("/wx/bind")
    return c


async def ask_code(c, phone: str):
    return await post_form(c, "/wx/bind/code", {"identifier": phone, "next": NEXT})


async def submit(c, phone: str, code: str):
    return await post_form(c, "/wx/bind", {"method": "sms_code", "identifier": phone, "code": code, "next": NEXT})


async def code_sent_to(sms_emulator, phone: str) -> str:
    [message] = await sms_received(sms_emulator, phone)
    return re.search(r"验证码为(\d{6})", message["text"]).group(1)


def page(resp) -> str:
    return resp.body.decode()


def same_page(resp, phone: str) -> str:
    """The page with the phone (as typed and masked) and the per-render xsrf token taken out."""
    text = page(resp).replace(phone, "PHONE").replace(phone[:3] + "****" + phone[-4:], "MASKED")
    return re.sub(r'name="_xsrf" value="[^"]+"', "", text)


async def graduate(world) -> dict:
    return (await world.graduates(await world.school()))[0]


def bound_openid(sql, g) -> str | None:
    return sql("SELECT wechat_openid FROM users WHERE graduate_id=%s", (g["id"],))[0]["wechat_openid"]


@pytest.mark.gen_test(timeout=30)
async def test_bind_with_an_sms_code(client, emulator, sms_emulator, world, sql):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    form = await c.get("/wx/bind?method=sms_code&next=%2Fwx%2Fhome")
    assert form.status == 200 and "获取验证码" in page(form) and 'name="code"' not in page(form)
    sent = await ask_code(c, g["phone"])
    assert sent.status == 200 and "验证码已发送" in page(sent) and 'name="code"' in page(sent)
    code = await code_sent_to(sms_emulator, g["phone"])
    resp = await submit(c, g["phone"], code)
    assert resp.status == 302 and resp.headers["Location"] == NEXT
    assert bound_openid(sql, g) and (await c.get("/api/me")).json["account"]["graduate_id"] == g["id"]


@pytest.mark.gen_test(timeout=30)
async def test_wrong_code_is_refused(client, emulator, sms_emulator, world, sql):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    await ask_code(c, g["phone"])
    code = await code_sent_to(sms_emulator, g["phone"])
    resp = await submit(c, g["phone"], f"{(int(code) + 1) % 10**6:06d}")
    assert resp.status == 400 and "验证码错误或已失效" in page(resp) and 'name="_xsrf"' in page(resp)
    assert bound_openid(sql, g) is None
    assert (await submit(c, g["phone"], "")).status == 400


@pytest.mark.gen_test(timeout=30)
async def test_a_used_code_cannot_bind_again(client, emulator, sms_emulator, world, sql):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    await ask_code(c, g["phone"])
    code = await code_sent_to(sms_emulator, g["phone"])
    assert (await submit(c, g["phone"], code)).status == 302
    await post_form(c, "/wx/unbind", {})
    other = await in_wechat(client, emulator)
    resp = await submit(other, g["phone"], code)
    assert resp.status == 400 and "验证码错误或已失效" in page(resp) and bound_openid(sql, g) is None


@pytest.mark.gen_test(timeout=30)
async def test_an_expired_code_is_refused(client, emulator, sms_emulator, world, app):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    await ask_code(c, g["phone"])
    code = await code_sent_to(sms_emulator, g["phone"])
    await app.redis.pexpire(limits.code_key("bind", g["phone"]), 1)
    time.sleep(0.01)
    resp = await submit(c, g["phone"], code)
    assert resp.status == 400 and "验证码错误或已失效" in page(resp)


@pytest.mark.gen_test(timeout=30)
async def test_five_wrong_attempts_void_the_code(client, emulator, sms_emulator, world, sql):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    await ask_code(c, g["phone"])
    code = await code_sent_to(sms_emulator, g["phone"])
    for _ in range(5):
        assert (await submit(c, g["phone"], f"{(int(code) + 1) % 10**6:06d}")).status == 400
    resp = await submit(c, g["phone"], code)
    assert resp.status == 400 and "重新获取" in page(resp) and bound_openid(sql, g) is None


@pytest.mark.gen_test(timeout=30)
async def test_one_code_a_minute(client, emulator, sms_emulator, world):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    assert (await ask_code(c, g["phone"])).status == 200
    resp = await ask_code(c, g["phone"])
    assert resp.status == 429 and "请1分钟后再试" in page(resp) and 'name="code"' in page(resp)
    assert len(await sms_received(sms_emulator, g["phone"])) == 1


@pytest.mark.gen_test(timeout=30)
async def test_five_codes_an_hour(client, emulator, sms_emulator, world, app):
    g = await graduate(world)
    now = time.time()
    for minutes_ago in (50, 40, 30, 20, 10):  # five codes asked earlier this hour
        await limits.reserve_code_slot(app.redis, g["phone"], now=now - minutes_ago * 60)
    resp = await ask_code(await in_wechat(client, emulator), g["phone"])
    assert resp.status == 429 and "请1小时后再试" in page(resp)
    assert not await sms_received(sms_emulator, g["phone"])


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("who", ["unknown", "staff"])
async def test_phones_of_no_graduate_get_the_same_answer_and_no_code(client, emulator, sms_emulator, world, sql, app,
                                                                    who):
    g = await graduate(world)
    phone = "137" + g["phone"][3:]
    if who == "staff":
        staff = await world.user("school", school_id=(await world.school())["id"])
        sql("UPDATE users SET phone_hash=%s WHERE username=%s", (app.vault.blind_index(phone), staff))
    c = await in_wechat(client, emulator)
    known, unknown = await ask_code(c, g["phone"]), await ask_code(c, phone)
    assert unknown.status == known.status == 200
    assert same_page(unknown, phone) == same_page(known, g["phone"])
    assert not await sms_received(sms_emulator, phone)
    resp = await submit(c, phone, "123456")
    assert resp.status == 400 and "验证码错误或已失效" in page(resp)
    assert (await ask_code(c, phone)).status == 429  # the limit counts every phone alike


@pytest.mark.gen_test(timeout=30)
async def test_a_malformed_phone_is_refused(client, emulator, sms_emulator):
    c = await in_wechat(client, emulator)
    resp = await ask_code(c, "1234")
    assert resp.status == 400 and "请输入正确的11位手机号码" in page(resp)
    resp = await submit(c, "1234", "123456")
    assert resp.status == 400 and "请输入正确的11位手机号码" in page(resp)


@pytest.mark.gen_test(timeout=30)
async def test_a_failed_send_says_so(client, emulator, sms_emulator, world):
    g = await graduate(world)
    await sms_fail(sms_emulator, mode="code", code="isv.AMOUNT_NOT_ENOUGH", phone=g["phone"])
    resp = await ask_code(await in_wechat(client, emulator), g["phone"])
    assert resp.status == 503 and "短信发送失败" in page(resp)


@pytest.mark.gen_test(timeout=30)
async def test_asking_a_code_needs_xsrf_and_a_wechat_identity(client, emulator, world):
    g = await graduate(world)
    c = await in_wechat(client, emulator)
    resp = await post_form(c, "/wx/bind/code", {"identifier": g["phone"]}, xsrf=False)
    assert resp.status == 403 and "页面已过期" in page(resp)
    resp = await post_form(client(), "/wx/bind/code", {"identifier": g["phone"]})
    assert resp.status == 400 and "授权已失效" in page(resp)
