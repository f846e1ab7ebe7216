"""OAuth2 web authorisation in front of the H5 pages, binding a graduate's account, unbinding."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests import test_wechat_support as support
from tests.support import PASSWORD
from tests.test_wechat_support import authorize_redirect, new_openid, pick_user, post_form, wechat_visit
from wechat.pages import safe_next

start_emulator, emulator, wx_config, app = support.start_emulator, support.emulator, support.wx_config, support.app


async def graduate(world, **kw) -> dict:
    school = await world.school()
    return (await world.graduates(school, **kw))[0]


async def bind(client, emulator, openid: str, identifier: str, password: str = PASSWORD, next_path="/wx/home"):
    """Visit through WeChat (unbound: lands on /wx/bind), then submit the binding form."""
    resp = await wechat_visit(client, emulator, openid, next_path)
    assert resp.status == 302 and resp.headers["Location"].startswith("/wx/bind"), resp
    return await post_form(client, "/wx/bind", {"method": "password", "identifier": identifier,
                                                "password": password, "next": next_path})


def page(resp) -> str:
    return resp.body.decode()


# -- OAuth2 ---------------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_oauth_entry_redirects_to_the_authorize_page_with_a_state(client, wx_config, emulator):
    location, query = await authorize_redirect(client(), "/wx/home")
    assert location.startswith(emulator.base + "connect/oauth2/authorize?")
    assert location.endswith("#wechat_redirect")
    assert query["appid"] == wx_config.wechat_app_id and query["scope"] == "snsapi_base"
    assert query["response_type"] == "code" and len(query["state"]) >= 20
    assert query["redirect_uri"].split("#")[0] == wx_config.public_base_url + "/wx/oauth/callback"


@pytest.mark.gen_test
async def test_authorize_page_of_the_emulator_lists_users_escaped(client, emulator):
    await emulator.user("o_listed_user")
    _, query = await authorize_redirect(client())
    resp = await emulator.request("GET", "connect/oauth2/authorize?" + urlencode(
        {**query, "state": '"><script>alert(1)</script>'}))
    body = resp.body.decode()
    assert resp.code == 200 and "模拟微信授权" in body and "o_listed_user" in body
    assert "<script>alert" not in body


@pytest.mark.gen_test
async def test_unbound_visitor_is_sent_to_the_binding_form(client, emulator):
    c = client()
    resp = await wechat_visit(c, emulator, new_openid(), "/wx/home")
    assert resp.status == 302 and resp.headers["Location"] == "/wx/bind?next=%2Fwx%2Fhome"
    form = await c.get("/wx/bind?next=%2Fwx%2Fhome")
    assert form.status == 200 and 'name="_xsrf"' in page(form) and "身份证号或手机号" in page(form)
    assert "短信验证码" in page(form)  # the SMS method is not offered until it exists


@pytest.mark.gen_test
async def test_wrong_state_is_refused(client, emulator):
    c = client()
    _, query = await authorize_redirect(c)
    callback = await pick_user(emulator, {**query, "state": "forged-state-value-123456"}, new_openid())
    resp = await c.get(callback[len(c.base):])
    assert resp.status == 400 and "授权已失效" in page(resp)


@pytest.mark.gen_test
async def test_callback_without_the_state_cookie_is_refused(client, emulator):
    c = client()
    _, query = await authorize_redirect(c)
    callback = await pick_user(emulator, query, new_openid())
    resp = await client().get(callback[len(c.base):])  # another browser: no state cookie
    assert resp.status == 400 and "授权已失效" in page(resp)


@pytest.mark.gen_test
async def test_reused_code_is_refused(client, emulator):
    c = client()
    _, query = await authorize_redirect(c)
    callback = await pick_user(emulator, query, new_openid())
    assert (await c.get(callback[len(c.base):])).status == 302
    code = parse_qs(urlsplit(callback).query)["code"][0]
    _, fresh = await authorize_redirect(c)  # a new state, the old code
    resp = await c.get("/wx/oauth/callback?" + urlencode({"code": code, "state": fresh["state"]}))
    assert resp.status == 400 and "授权码无效或已使用" in page(resp)


@pytest.mark.parametrize("value", [
    "//evil.example.com/x", "/\\evil.example.com", "https://evil.example.com/", "http:/evil.example.com",
    "javascript:alert(1)", "/\tevil", "wx/home", "", "/\r\nSet-Cookie:x",
])
def test_next_must_be_a_local_path(value):
    assert safe_next(value) == "/wx/home"


def test_safe_next_keeps_local_paths():
    assert safe_next("/wx/records/12?tab=audit") == "/wx/records/12?tab=audit"


@pytest.mark.gen_test
@pytest.mark.parametrize("next_path", ["//evil.example.com", "https://evil.example.com/x", "/\\evil.example.com"])
async def test_open_redirects_in_next_end_on_our_home(client, emulator, world, next_path):
    g = await graduate(world)
    c = client()
    resp = await bind(c, emulator, new_openid(), g["id_number"], next_path=next_path)
    assert resp.status == 302 and resp.headers["Location"] == "/wx/home"
    visit = await wechat_visit(client(), emulator, new_openid(), next_path)
    assert visit.headers["Location"] == "/wx/bind?next=%2Fwx%2Fhome"


# -- binding --------------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_bind_with_id_number_then_later_visits_log_in_directly(client, emulator, world, sql):
    g = await graduate(world)
    openid = new_openid()
    c = client()
    resp = await bind(c, emulator, openid, g["id_number"])
    assert resp.status == 302 and resp.headers["Location"] == "/wx/home"
    home = await c.get("/wx/home")
    assert home.status == 200 and g["name"] in page(home) and g["id_number"] not in page(home)
    row = sql("SELECT wechat_openid, wechat_subscribed, wechat_bound_at FROM users WHERE graduate_id=%s", (g["id"],))[0]
    assert row["wechat_openid"] == openid and row["wechat_subscribed"] == 1 and row["wechat_bound_at"]
    assert sql("SELECT COUNT(*) AS n FROM operation_log WHERE action='wechat.bind' AND target_id=%s",
               (str(sql("SELECT id FROM users WHERE graduate_id=%s", (g["id"],))[0]["id"]),))[0]["n"] == 1

    later = client()  # a new WeChat session: no cookies at all
    resp = await wechat_visit(later, emulator, openid, "/wx/home")
    assert resp.status == 302 and resp.headers["Location"] == "/wx/home"
    home = await later.get("/wx/home")
    assert home.status == 200 and g["name"] in page(home)
    me = await later.get("/api/me")
    assert me.status == 200 and me.json["account"]["graduate_id"] == g["id"]


@pytest.mark.gen_test
async def test_bind_with_phone(client, emulator, world):
    g = await graduate(world)
    resp = await bind(client(), emulator, new_openid(), g["phone"])
    assert resp.status == 302 and resp.headers["Location"] == "/wx/home"


@pytest.mark.gen_test
async def test_binding_status_api(client, emulator, world):
    g = await graduate(world)
    c = client()
    assert (await c.get("/api/wechat/binding")).status == 401
    await bind(c, emulator, new_openid(), g["id_number"])
    resp = await c.get("/api/wechat/binding")
    assert resp.status == 200 and resp.json["bound"] is True and resp.json["subscribed"] is True
    assert "****" in resp.json["openid_masked"] and resp.json["bound_at"]


@pytest.mark.gen_test
async def test_binding_status_api_is_for_graduates(client, world):
    school = await world.school()
    staff = await world.user("school", school_id=school["id"])
    c = client()
    await c.login(staff)
    resp = await c.get("/api/wechat/binding")
    assert resp.status == 403 and resp.error == "forbidden"


@pytest.mark.gen_test
async def test_wrong_password_is_refused_with_a_page(client, emulator, world, sql):
    g = await graduate(world)
    resp = await bind(client(), emulator, new_openid(), g["id_number"], password="wrong-password-1")
    assert resp.status == 401 and "账号或密码错误" in page(resp) and 'name="_xsrf"' in page(resp)
    assert sql("SELECT wechat_openid FROM users WHERE graduate_id=%s", (g["id"],))[0]["wechat_openid"] is None


@pytest.mark.gen_test(timeout=30)
async def test_five_failures_lock_the_account(client, emulator, world):
    g = await graduate(world)
    c = client()
    await bind(c, emulator, new_openid(), g["id_number"], password="wrong-password-1")
    for _ in range(4):
        resp = await post_form(c, "/wx/bind", {"identifier": g["id_number"], "password": "wrong-password-1"})
    assert resp.status == 429 and "锁定" in page(resp)
    resp = await post_form(c, "/wx/bind", {"identifier": g["id_number"], "password": PASSWORD})
    assert resp.status == 429  # even the right password, while locked


@pytest.mark.gen_test
async def test_non_graduate_accounts_cannot_bind(client, emulator, world):
    school = await world.school()
    staff = await world.user("school", school_id=school["id"])
    resp = await bind(client(), emulator, new_openid(), staff)
    assert resp.status == 403 and "只有毕业生账号可以绑定微信" in page(resp)


@pytest.mark.gen_test
async def test_openid_bound_to_another_graduate_is_refused(client, emulator, world):
    first, second = await graduate(world), await graduate(world)
    openid = new_openid()
    c = client()
    await bind(c, emulator, openid, first["id_number"])
    resp = await post_form(c, "/wx/bind", {"identifier": second["id_number"], "password": PASSWORD})
    assert resp.status == 409 and "该微信已绑定其他毕业生账号" in page(resp)
    shown = await c.get("/wx/bind")
    assert shown.status == 200 and first["name"] in page(shown) and "解除绑定" in page(shown)


@pytest.mark.gen_test
async def test_graduate_bound_to_another_openid_is_refused(client, emulator, world, sql):
    g = await graduate(world)
    first_openid = new_openid()
    await bind(client(), emulator, first_openid, g["id_number"])
    resp = await bind(client(), emulator, new_openid(), g["id_number"])
    assert resp.status == 409 and "该账号已绑定其他微信" in page(resp)
    assert sql("SELECT wechat_openid FROM users WHERE graduate_id=%s", (g["id"],))[0]["wechat_openid"] == first_openid


@pytest.mark.gen_test
async def test_binding_again_with_the_same_openid_is_harmless(client, emulator, world):
    g = await graduate(world)
    openid = new_openid()
    c = client()
    await bind(c, emulator, openid, g["id_number"])
    resp = await post_form(c, "/wx/bind", {"identifier": g["id_number"], "password": PASSWORD})
    assert resp.status == 302


@pytest.mark.gen_test
async def test_invalid_graduate_may_bind_and_sees_the_status(client, emulator, world, sql):
    g = await graduate(world)
    sql("UPDATE graduates SET status='invalid' WHERE id=%s", (g["id"],))
    c = client()
    assert (await bind(c, emulator, new_openid(), g["id_number"])).status == 302
    home = await c.get("/wx/home")
    assert home.status == 200 and "学籍信息已失效" in page(home)


@pytest.mark.gen_test
async def test_binding_form_needs_xsrf(client, emulator, world):
    g = await graduate(world)
    c = client()
    await wechat_visit(c, emulator, new_openid())
    resp = await post_form(c, "/wx/bind", {"identifier": g["id_number"], "password": PASSWORD}, xsrf=False)
    assert resp.status == 403 and "页面已过期" in page(resp)


@pytest.mark.gen_test
async def test_pages_without_wechat_identity_go_through_oauth(client):
    c = client()
    resp = await c.get("/wx/home")
    assert resp.status == 302 and resp.headers["Location"] == "/wx/oauth?next=%2Fwx%2Fhome"
    resp = await c.get("/wx/bind?next=/wx/x")
    assert resp.headers["Location"] == "/wx/oauth?next=%2Fwx%2Fbind%3Fnext%3D%2Fwx%2Fx"


@pytest.mark.gen_test
async def test_home_of_a_bound_openid_without_session_goes_through_oauth(client, emulator, world):
    g = await graduate(world)
    openid = new_openid()
    c = client()
    await bind(c, emulator, openid, g["id_number"])
    c.cookies.pop("session")
    resp = await c.get("/wx/home")
    assert resp.status == 302 and resp.headers["Location"] == "/wx/oauth?next=%2Fwx%2Fhome"


# -- unbinding ------------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_unbind_clears_binding_and_session(client, emulator, world, sql):
    g = await graduate(world)
    openid = new_openid()
    c = client()
    await bind(c, emulator, openid, g["id_number"])
    resp = await post_form(c, "/wx/unbind", {})
    assert resp.status == 200 and "已解除绑定" in page(resp)
    row = sql("SELECT wechat_openid, wechat_subscribed FROM users WHERE graduate_id=%s", (g["id"],))[0]
    assert row["wechat_openid"] is None and row["wechat_subscribed"] == 0
    assert (await c.get("/api/me")).status == 401
    visit = await wechat_visit(client(), emulator, openid)
    assert visit.headers["Location"].startswith("/wx/bind")
    assert (await post_form(c, "/wx/unbind", {})).status == 409


@pytest.mark.gen_test
async def test_unbind_needs_xsrf(client, emulator, world, sql):
    g = await graduate(world)
    c = client()
    await bind(c, emulator, new_openid(), g["id_number"])
    resp = await post_form(c, "/wx/unbind", {}, xsrf=False)
    assert resp.status == 403
    assert sql("SELECT wechat_openid FROM users WHERE graduate_id=%s", (g["id"],))[0]["wechat_openid"]
