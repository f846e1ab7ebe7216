"""The graduate's journey in a real browser, as a phone inside WeChat: enter through WeChat's authorisation,
bind the account, confirm the roster data, register a paper agreement with its photo, meet a refusal that
keeps every value and the photo, correct it and submit; then the list says what is going on and offers no
second registration. Every page on the way is checked (tests/browser.py)."""
from __future__ import annotations

import pytest

from tests.browser import Journey, LiveServer, phone_browser
from tests.flows import UNIT
from tests.image_corpus import sharp_stamped_jpeg
from tests.support import PASSWORD, World


@pytest.fixture(scope="module")
def live(config):
    server = LiveServer(config)
    yield server
    server.stop()


@pytest.fixture
def browser():
    driver = phone_browser()
    yield driver
    driver.quit()


def test_graduate_binds_confirms_and_registers_a_paper_agreement_without_losing_input(live, browser, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    j = Journey(browser, live, "graduate-paper-registration")

    j.open("/wx/oauth?next=/wx/records")
    assert "模拟微信授权" in j.check("wechat-authorize", ours=False)
    j.click("form:last-of-type button[type=submit]")
    assert "身份证号或手机号" in j.check("bind")
    j.fill({"identifier": g["id_number"], "password": PASSWORD})
    j.click("button[type=submit]")

    text = j.check("confirm-roster")
    assert g["name"] in text and g["id_number"] not in text
    j.click("form[action='/wx/profile'] button")
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
    j.click("button[name=submit]")

    text = j.check("paper-form-refused")
    assert "联系人手机应为11位手机号码" in text and "格式不正确，请检查" in text
    assert browser.find_element("name", "unit_name").get_attribute("value") == UNIT["unit_name"]
    assert browser.find_element("name", "supplementary_terms").get_attribute("value") == UNIT["supplementary_terms"]
    assert "已上传 1 张照片，已保留" in text
    j.fill({"contact_mobile": UNIT["contact_mobile"]})
    j.click("button[name=submit]")

    text = j.check("record-submitted")
    assert "签约审核中，等待学校审核" in text and "已完成：提交审核" in text and UNIT["unit_name"] in text
    browser.find_element("link text", "返回我的记录").click()
    text = j.check("records-active")
    assert "办结" in text and "已签就业协议，登记信息 ›" not in text
