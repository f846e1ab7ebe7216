"""The graduate's journey in a real browser, as a phone inside WeChat: enter through WeChat's authorisation,
bind the account, confirm the roster data, register a paper agreement with its photo, meet a refusal that
keeps every value and the photo, correct it and submit; then the list says what is going on and offers no
second registration. Every page on the way is checked (tests/browser.py)."""
from __future__ import annotations

import re
from datetime import timedelta

from selenium.webdriver.support.ui import WebDriverWait

from signing import clock
from signing.accounts import load_actor
from signing.records_service import ActionInput, perform, start
from tests.browser import Journey, LiveServer, browser_fixture, live_server_fixture, phone_browser
from tests.flows import REJECT, UNIT
from tests.image_corpus import sharp_stamped_jpeg
from tests.support import PASSWORD, World

live, browser = live_server_fixture(), browser_fixture(phone_browser)


def enter_through_wechat(j: Journey, g: dict) -> None:
    """WeChat's authorisation (the emulator's page), binding with ID number and password, the roster check."""
    j.open("/wx/oauth?next=/wx/records")
    assert "模拟微信授权" in j.check("wechat-authorize", ours=False)
    j.submit("form:last-of-type button[type=submit]")
    assert "身份证号或手机号" in j.check("bind")
    j.fill({"identifier": g["id_number"], "password": PASSWORD})
    j.submit("button[type=submit]")
    text = j.check("confirm-roster")
    assert g["name"] in text and g["id_number"] not in text
    j.submit("form[action='/wx/profile'] button")


def actor(live: LiveServer, username: str):
    user = live.call(live.app.db.fetchone("SELECT id, session_version FROM users WHERE username=%s", (username,)))
    return live.call(load_actor(live.app.db, user["id"], user["session_version"]))


def test_graduate_binds_confirms_and_registers_a_paper_agreement_without_losing_input(live, browser, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    j = Journey(browser, live, "graduate-paper-registration")
    enter_through_wechat(j, g)
    text = j.check("records-empty")
    assert "已签就业协议，登记信息" in text
    browser.find_element("link text", "已签就业协议，登记信息 ›").click()

    text = j.check("paper-form")
    assert "盖章的纸质就业协议书图像 *" in text
    fields = {k: ("yes" if v is True else str(v)) for k, v in UNIT.items()}
    j.fill({**fields, "contact_mobile": "1380013"})
    photo = tmp_path / "stamped.jpg"
    photo.write_bytes(sharp_stamped_jpeg())
    browser.find_element("css selector", "input[type=file]").send_keys(str(photo))
    j.wait_text(".upload-result", "已上传 1 张")
    j.submit("button[name=submit]")

    text = j.check("paper-form-refused")
    assert "联系人手机应为11位手机号码" in text and "格式不正确，请检查" in text
    assert browser.find_element("name", "unit_name").get_attribute("value") == UNIT["unit_name"]
    assert browser.find_element("name", "supplementary_terms").get_attribute("value") == UNIT["supplementary_terms"]
    assert "已上传 1 张照片，已保留" in text
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(  # the kept photo is shown, not only counted
        "return [...document.querySelectorAll('.thumb img')].map(i => i.complete && i.naturalWidth > 0)") == [True])
    j.fill({"contact_mobile": UNIT["contact_mobile"]})
    j.submit("button[name=submit]")

    text = j.check("record-submitted")
    assert "签约审核中，等待学校审核" in text and "已完成：提交审核" in text and UNIT["unit_name"] in text
    browser.find_element("link text", "返回我的记录").click()
    text = j.check("records-active")
    assert "办结" in text and "已签就业协议，登记信息 ›" not in text
    j.assert_light()


def test_graduate_accepts_an_invitation_after_confirming_then_edits_and_resubmits_a_returned_application(
        live, browser):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    employer = live.call(world.employer())
    staff = actor(live, live.call(world.user("school", school_id=school["id"])))
    invitation = live.call(start(live.app.db, actor(live, employer["username"]), "online", "invite", g["id"],
                                 ActionInput(data=UNIT, deadline=clock.now() + timedelta(days=7))))
    j = Journey(browser, live, "graduate-invitation-and-return")
    enter_through_wechat(j, g)

    text = j.check("records-invited")
    assert "单位发起签约邀请，等待学生应约" in text and "待您处理：接受签约邀请、拒绝签约邀请" in text
    j.open(f"/wx/records/{invitation}")
    assert "接受签约邀请" in j.check("invitation")
    j.click("form[action$='/act/accept'] button")
    j.wait_text(".dialog-body", "确定接受吗")  # the page's own dialog, in WeChat's style
    j.check("accept-dialog")
    j.submit(".dialog-yes")
    text = j.check("accepted")
    assert "学生已同意签约，等待学校审核" in text and "已完成" in text

    live.call(perform(live.app.db, staff, invitation, "reject", ActionInput(**REJECT)))
    j.open(f"/wx/records/{invitation}")
    text = j.check("rejected")
    assert text.index("学校意见：单位信息有误") < text.index("签约审核不通过，签约失败")

    j.open("/wx/records/new?kind=offline")
    fields = {k: ("yes" if v is True else str(v)) for k, v in UNIT.items()}
    j.fill(fields)
    j.submit("button[name=submit]")
    text = j.check("applied")
    assert "就业协议审核中，等待学校审核" in text
    applied = int(browser.current_url.split("/wx/records/")[1].split("?")[0])
    live.call(perform(live.app.db, staff, applied, "return", ActionInput(**REJECT)))
    j.open(f"/wx/records/{applied}")
    text = j.check("returned")
    assert "学校退回：单位信息有误" in text
    assert text.index("学校退回") < text.index("协议审核待提交（老师退回）")
    j.submit("a[href$='/edit']")
    assert browser.find_element("name", "unit_name").get_attribute("value") == UNIT["unit_name"]
    j.check("edit-returned")
    j.fill({"unit_name": "北京示范科技股份有限公司"})
    j.submit("button[name=submit]")
    text = j.check("resubmitted")
    assert "就业协议审核中，等待学校审核" in text and "北京示范科技股份有限公司" in text
    j.assert_light()


def test_graduate_binds_with_an_sms_code_and_registers_further_study_with_its_proof(live, browser, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    j = Journey(browser, live, "graduate-sms-bind-destination")
    j.open("/wx/oauth?next=/wx/records")
    j.submit("form:last-of-type button[type=submit]")  # a new WeChat user
    j.submit("a[href*='method=sms_code']")
    assert "获取验证码" in j.check("bind-sms")
    j.fill({"identifier": g["phone"]})
    j.submit("#send-code")
    text = j.check("bind-code-sent")
    assert "重新获取验证码（" in text and "秒）" in text  # the 60 s countdown
    wechat = browser.current_window_handle
    browser.switch_to.new_window("tab")  # the phone's SMS (the emulator's inbox)
    j.open(f"http://{live.config.aliyun_sms_endpoint}/inbox?phone={g['phone']}")
    code = re.search(r"验证码为(\d{6})", j.check("phone-inbox", ours=False)).group(1)
    browser.close()
    browser.switch_to.window(wechat)
    j.fill({"code": code})
    j.submit("form[action='/wx/bind'] button[type=submit]")
    assert g["name"] in j.check("sms-bound-confirm-roster")
    j.submit("form[action='/wx/profile'] button")

    j.open("/wx/records/new?kind=destination")
    j.fill({"type_code": "80"})
    assert "证明材料" in j.check("destination-form")
    j.fill({"field_school_name": "北京大学", "field_major": "计算机科学与技术"})
    photo = tmp_path / "admission.jpg"
    photo.write_bytes(sharp_stamped_jpeg())
    browser.find_element("css selector", "input[type=file]").send_keys(str(photo))
    j.wait_text(".upload-result", "已上传 1 张")
    assert "已上传 1 张" in j.check("destination-photo")
    j.submit("button[name=submit]")
    text = j.check("destination-submitted")
    assert "北京大学" in text and "已完成：提交审核" in text
    j.assert_light()
