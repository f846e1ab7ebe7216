"""The employer's journey in a real browser at phone size, with the graduate on the other side: the unit registers
(a refused form keeps what was typed), uploads its licence and authorisation photos, is certified, finds the
graduate and invites them with the full job details; the graduate accepts after the dialog; the school approves;
the unit asks to cancel and the graduate agrees. Then another unit, without an account, returns a stamped
agreement through the SMS link, one photo per page. Every page on the way is checked (tests/browser.py)."""
from __future__ import annotations

import json
import secrets
import urllib.request

from selenium.webdriver.support.ui import WebDriverWait
from tornado.httpclient import AsyncHTTPClient

from demo.sample_data import make_credit_code
from documents.employer_links import request_link
from signing.records_service import ActionInput, perform, start
from tests import agreement_photos as photos
from tests import image_corpus as corpus
from tests.browser import Journey, browser_fixture, live_server_fixture, phone_browser
from tests.flows import UNIT
from tests.support import Client, World
from tests.test_browser_graduate import actor, enter_through_wechat

live, browser = live_server_fixture(), browser_fixture(phone_browser)


async def certify(base: str, admin: str, employer_id: int) -> None:
    """The platform administrator's decision, through the API as the administrator makes it."""
    c = Client(AsyncHTTPClient(), base)
    await c.login(admin)
    resp = await c.post(f"/api/admin/employers/{employer_id}/certification", {"decision": "certified"})
    assert resp.status == 200, resp


def set_value(browser, name: str, value: str) -> None:
    """Date inputs take their value as the page's script would set it (typing depends on the locale's format)."""
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element("name", name), value)


def confirm_dialog(j: Journey, expected: str) -> None:
    j.wait_text(".dialog-body", expected)
    j.submit(".dialog-yes")


def test_employer_registers_invites_the_graduate_accepts_and_both_agree_to_cancel(live, browser, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    staff = actor(live, live.call(world.user("school", school_id=school["id"])))
    admin = live.call(world.user("admin"))
    j = Journey(browser, live, "employer-register-invite-cancel")

    j.open("/employer")
    assert "还没有单位账号" in j.check("login")
    browser.find_element("link text", "用人单位注册").click()
    assert "填写单位信息" in j.check("register")
    unit = {"name": "北京网签示范科技有限公司", "credit_code": make_credit_code(900_000 + secrets.randbelow(99_999)),
            "address": "北京市海淀区中关村大街8号", "contact_name": "李经理", "contact_phone": "1380013",
            "username": f"unit{secrets.token_hex(4)}", "password": "Unit2026pass"}
    j.fill(unit)
    j.submit("form[action='/employer/register'] button[type=submit]")
    text = j.check("register-refused")
    assert "请修改标出的项目：联系人手机" in text and "格式不正确，请检查" in text
    assert browser.find_element("name", "name").get_attribute("value") == unit["name"]
    j.fill({"contact_phone": "13800138001", "password": unit["password"]})
    j.submit("form[action='/employer/register'] button[type=submit]")
    text = j.check("certification-empty")
    assert "注册成功" in text and "待平台审核认证" in text

    for document in ("licence", "authorisation"):
        photo = tmp_path / f"{document}.jpg"
        photo.write_bytes(corpus.sharp_stamped_jpeg())
        browser.find_element("id", f"file_{document}").send_keys(str(photo))
        j.submit(f"form[action$='/{document}'] button[type=submit]")
        assert "照片已上传" in j.check(f"certification-{document}")
    assert len(browser.find_elements("css selector", ".thumb img")) == 2
    employer_id = live.call(live.app.db.fetchone("SELECT id FROM employers WHERE credit_code=%s",
                                                 (unit["credit_code"],)))["id"]
    live.call(certify(live.base, admin, employer_id))

    j.open("/employer/invite")
    assert "第一步：查找毕业生" in j.check("search")
    j.fill({"name": g["name"], "id_number": g["id_number"]})
    j.submit("button[type=submit]")
    text = j.check("invite-form")
    assert g["name"] in text and "第二步" in text
    assert browser.find_element("name", "unit_name").get_attribute("value") == unit["name"]
    j.fill({k: ("yes" if v is True else str(v)) for k, v in UNIT.items() if k not in ("unit_name", "credit_code")})
    j.fill({"salary": "月薪12000元"})
    set_value(browser, "report_date", "2027-07-15")
    j.click("form[action='/employer/invite'] button[type=submit]")
    confirm_dialog(j, "确定发出邀请吗")
    text = j.check("invited")
    assert "单位发起签约邀请，等待学生应约" in text and "月薪12000元" in text and "2027-07-15" in text
    record_id = int(browser.current_url.split("/employer/records/")[1].split("?")[0])
    j.open("/employer")
    assert g["name"] in j.check("invitations") and "撤回签约邀请" in browser.page_source
    j.submit("button.link")  # 退出登录

    enter_through_wechat(j, g)
    assert "待您处理：接受签约邀请、拒绝签约邀请" in j.check("graduate-records")
    j.open(f"/wx/records/{record_id}")
    assert "月薪12000元" in j.check("graduate-invitation")
    j.click("form[action$='/act/accept'] button")
    confirm_dialog(j, "确定接受吗")
    assert "学生已同意签约，等待学校审核" in j.check("graduate-accepted")
    live.call(perform(live.app.db, staff, record_id, "pass", ActionInput()))

    j.open("/employer")  # a graduate's session is not an employer's: to the login page
    j.fill({"username": unit["username"], "password": unit["password"]})
    j.submit("button[type=submit]")
    assert "待处理：申请解约" in j.check("employer-list-signed")
    j.submit("a.cell")
    assert "查看电子协议书" in j.check("employer-signed")
    j.fill({"explanation": "岗位调整，经协商解除"})
    j.click("form[action$='/act/request_cancel'] button[type=submit]")
    confirm_dialog(j, "确定申请解约吗")
    assert "已完成：申请解约" in j.check("employer-cancel-requested")

    j.open(f"/wx/records/{record_id}")  # back in WeChat: its authorisation logs the graduate in again
    openid = live.call(live.app.db.fetchone("SELECT wechat_openid FROM users WHERE username=%s",
                                            (g["username"],)))["wechat_openid"]
    j.wait_text("header", "模拟微信授权")
    j.submit(f"form:has(input[value='{openid}']) button[type=submit]")
    text = j.check("graduate-cancel-request")
    assert "岗位调整，经协商解除" in text
    j.click("form[action$='/act/accept_cancel'] button")
    confirm_dialog(j, "确定同意解约吗")
    assert "已完成" in j.check("graduate-cancel-accepted")
    assert live.call(live.app.db.fetchone("SELECT state FROM records WHERE id=%s", (record_id,)))["state"] == \
        "cancel_audit_online"
    j.assert_light()


def test_a_unit_returns_the_stamped_agreement_through_the_sms_link_one_photo_per_page(live, browser, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    graduate = actor(live, g["username"])
    staff = actor(live, live.call(world.user("school", school_id=school["id"])))
    record_id = live.call(start(live.app.db, graduate, "offline", "submit", g["id"], ActionInput(data=UNIT)))
    record = live.call(live.app.db.fetchone("SELECT version FROM records WHERE id=%s", (record_id,)))
    live.call(perform(live.app.db, staff, record_id, "pass", ActionInput(version=record["version"])))
    live.call(request_link(live.app.db, live.app.redis, live.app.vault, graduate, record_id))
    sms = live.call(live.app.db.fetchone("SELECT payload FROM outbox WHERE record_id=%s AND topic='notify'"
                                         " ORDER BY id DESC LIMIT 1", (record_id,)))
    path = json.loads(sms["payload"])["link"]
    j = Journey(browser, live, "employer-sms-link")

    j.open(path)
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(  # the pages' previews, since phones show no PDF inline
        "return [...document.querySelectorAll('.pages img')].map(i => i.complete && i.naturalWidth > 0)") == [True, True])
    text = j.check("link")
    assert "第2页（单位盖章页）照片" in text and g["name"] not in text
    with urllib.request.urlopen(live.base + path + "/agreement.pdf") as answer:
        pages = photos.stamp(photos.pages(answer.read()))
    files = {"dark": corpus.dark(), "page1": photos.photograph(pages[0]),
             "page2": photos.photograph(pages[-1], angle=-2)}
    for name, content in files.items():
        (tmp_path / f"{name}.jpg").write_bytes(content)
    browser.find_element("id", "page_1").send_keys(str(tmp_path / "dark.jpg"))
    browser.find_element("id", "page_2").send_keys(str(tmp_path / "page2.jpg"))
    j.submit("button[type=submit]")
    assert "照片太暗" in j.check("link-refused")

    browser.find_element("id", "page_1").send_keys(str(tmp_path / "page1.jpg"))
    browser.find_element("id", "page_2").send_keys(str(tmp_path / "page2.jpg"))
    assert len(browser.find_elements("css selector", ".thumb img")) == 2
    j.submit("button[type=submit]")
    text = j.check("link-done")
    assert "回传成功" in text and "2张照片" in text
    state = live.call(live.app.db.fetchone("SELECT state FROM records WHERE id=%s", (record_id,)))["state"]
    assert state == "signing_audit"
    j.assert_light()
