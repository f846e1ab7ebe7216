"""Staff pages: login, dashboard, records list, audit page and its action forms."""
from __future__ import annotations

import re

import pytest

from tests.flows import Flow
from tests.support import PASSWORD


async def form_post(c, path: str, fields: dict):
    from urllib.parse import urlencode
    return await c.request("POST", path, body=urlencode({**fields, "_xsrf": c.cookies["_xsrf"]}).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)


async def staff(world, client, role="school", **scope):
    c = client()
    resp = await form_post(c, "/admin/login", {"username": await world.user(role, **scope), "password": PASSWORD,
                                               "next": "/admin"})
    assert resp.status == 302 and resp.headers["Location"] == "/admin", resp
    return c


@pytest.mark.gen_test
async def test_login_page_refuses_wrong_passwords_and_graduates(world, client):
    school = await world.school()
    [g] = await world.graduates(school)
    c = client()
    assert (await c.get("/admin/records")).headers["Location"].startswith("/admin/login?next=")
    bad = await form_post(c, "/admin/login", {"username": await world.user("school", school_id=school["id"]),
                                              "password": "wrong-pass1"})
    assert bad.status == 401 and "账号或密码错误" in bad.body.decode()
    grad = await form_post(c, "/admin/login", {"username": g["username"], "password": PASSWORD})
    assert grad.status == 403


@pytest.mark.gen_test
async def test_audit_through_the_pages(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    sql("UPDATE graduates SET political_status='中共党员' WHERE id=%s", (f.g["id"],))
    c = await staff(world, client, school_id=f.school["id"])
    dashboard = (await c.get(f"/admin?cohort={f.school['cohort']}")).body.decode()
    assert "就业协议审核中" in dashboard
    listing = (await c.get("/admin/records?state=agreement_audit")).body.decode()
    assert f.g["name"] in listing and f.g["id_number"] not in listing
    page = (await c.get(f"/admin/records/{rid}")).body.decode()
    assert 'class="diff"' in page and "中共党员" in page and "审核通过" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    missing = await form_post(c, f"/admin/records/{rid}/act/return", {"version": version, "reason": "协议信息有误"})
    assert missing.status == 400 and "请填写具体说明" in missing.body.decode()
    done = await form_post(c, f"/admin/records/{rid}/act/pass", {"version": version})
    assert done.status == 302 and sql("SELECT state FROM records WHERE id=%s", (rid,))[0]["state"] == "agreement_approved"


@pytest.mark.gen_test
async def test_read_only_and_other_school_staff(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    ro = await staff(world, client, school_id=f.school["id"], permissions={"employment": "read_only"})
    page = (await ro.get(f"/admin/records/{rid}")).body.decode()
    assert f.g["name"] in page and "/act/" not in page
    other = await staff(world, client, school_id=(await world.school())["id"])
    assert (await other.get(f"/admin/records/{rid}")).status == 404


async def multipart_post(c, path: str, filename: str, content: bytes, token: str | None = None):
    import uuid
    boundary = uuid.uuid4().hex
    token = token or c.cookies["_xsrf"]
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return await c.request("POST", path, body=body, xsrf=False,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.gen_test
async def test_settings_page_saves_and_refuses_with_the_rule(world, client, sql):
    f = await Flow(world, client, sql).setup()
    c = await staff(world, client, school_id=f.school["id"])
    path = f"/admin/settings?cohort={f.school['cohort']}"
    page = (await c.get(path)).body.decode()
    assert "签约设置" in page and "李老师" in page
    saved = await form_post(c, path, {"online_signing": "1", "audit_mode": "school", "max_cancellations": "5"})
    assert saved.status == 200 and "已保存" in saved.body.decode()
    assert sql("SELECT max_cancellations FROM school_settings WHERE school_id=%s", (f.school["id"],))[0][
        "max_cancellations"] == 5
    bad = await form_post(c, path, {"online_signing": "1", "audit_mode": "school", "max_cancellations": "120"})
    assert bad.status == 400 and "0到99" in bad.body.decode()
    dept = await staff(world, client, "department", school_id=f.school["id"], department="计算机学院")
    assert (await form_post(dept, path, {"max_cancellations": "1"})).status == 403


@pytest.mark.gen_test
async def test_roster_page_imports_and_lists_bad_lines(world, client, sql):
    from demo.sample_data import roster_csv
    school = await world.school()
    c = await staff(world, client, school_id=school["id"])
    rows = world.roster_rows(school, 2)
    ok = await multipart_post(c, "/admin/roster", "名单.csv", roster_csv(rows))
    assert ok.status == 200 and "新增2" in ok.body.decode()
    assert [r["filename"] for r in sql("SELECT filename FROM roster_imports WHERE school_id=%s",
                                       (school["id"],))] == ["名单.csv"]  # a UTF-8 name, as the browser sent it
    rows[1]["身份证号"] = "123"
    bad = await multipart_post(c, "/admin/roster", "名单.csv", roster_csv(rows))
    assert bad.status == 422 and "身份证号应为18位" in bad.body.decode()
    forged = await multipart_post(c, "/admin/roster", "x.csv", roster_csv(rows[:1]), token="forged-elsewhere")
    assert forged.status == 403


@pytest.mark.gen_test
async def test_registration_review_page(world, client, sql):
    from tests.test_registrations import ARCHIVE, setting_up
    school, g, gc, sc = await setting_up(world, client)
    reg = (await gc.request("PUT", "/api/graduate/registrations/archive",
                            json_body={"action": "submit", "data": ARCHIVE})).json["registration"]
    c = await staff(world, client, school_id=school["id"], permissions={"archive": "read_write"})
    listing = (await c.get("/admin/registrations?module=archive")).body.decode()
    assert g["name"] in listing and "北京市人才服务中心" in listing and "审核通过" in listing
    assert "档案接收方式：</span>" in listing and "receiver" not in listing.split("<table")[1]  # labelled fields
    back = await form_post(c, "/admin/registrations", {"id": reg["id"], "version": reg["version"], "decision": "return"})
    assert back.status == 400  # a return needs its reason
    done = await form_post(c, "/admin/registrations", {"id": reg["id"], "version": reg["version"],
                                                       "decision": "return", "reason": "地址不完整"})
    assert done.status == 302
    assert sql("SELECT status FROM registrations WHERE id=%s", (reg["id"],))[0]["status"] == "returned"
    no_module = await staff(world, client, school_id=school["id"])
    assert (await no_module.get("/admin/registrations?module=archive")).status == 403


@pytest.mark.gen_test
async def test_console_opens_on_the_cohort_that_is_signing_with_a_switcher(world, client, sql):
    f = await Flow(world, client, sql).setup()
    c = await staff(world, client, school_id=f.school["id"])
    page = (await c.get("/admin")).body.decode()
    cohort = f.school["cohort"]
    assert f"{cohort}届 数据统计" in page and f'<option value="{cohort}" selected>{cohort}届</option>' in page
    for bad in ("abc", "1900", "-1"):  # never a 500: the current cohort
        resp = await c.get(f"/admin?cohort={bad}")
        assert resp.status == 200 and f"{cohort}届 数据统计" in resp.body.decode()
    chosen = (await c.get(f"/admin/settings?cohort={cohort - 1}")).body.decode()
    assert f'<option value="{cohort - 1}" selected>{cohort - 1}届</option>' in chosen
