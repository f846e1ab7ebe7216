"""The staff console in a real browser at PC size (1440x900): a school logs in, sees its dashboard on the
signing cohort, marks a warning unit (a refused form first, then the fifth school's mark makes it
nationwide), removes it after the confirmation dialog and finds both in the operation log; the province then
sees the nationwide list read-only. Every page is checked (tests/browser.py)."""
from __future__ import annotations

import pytest

from demo.sample_data import make_credit_code
from signing import warnings
from signing.clock import today
from signing.eligibility import current_cohort
from tests.browser import Journey, LiveServer, desktop_browser
from tests.support import PASSWORD, World
from tests.test_browser_graduate import actor


@pytest.fixture(scope="module")
def live(config):
    server = LiveServer(config)
    yield server
    server.stop()


@pytest.fixture
def browser():
    driver = desktop_browser()
    yield driver
    driver.quit()


def log_in(j: Journey, username: str, step: str) -> str:
    j.open("/admin/login")
    j.check(f"{step}-login")
    j.fill({"username": username, "password": PASSWORD})
    j.click("button[type=submit]")
    return j.check(step)


def test_school_marks_a_warning_unit_that_becomes_nationwide_and_the_province_sees_it(live, browser):
    world = World(live.app)
    code = make_credit_code(5151)
    schools = [live.call(world.school()) for _ in range(5)]
    for school in schools[1:]:  # four other schools marked the unit already
        marker = actor(live, live.call(world.user("school", school_id=school["id"])))
        live.call(warnings.mark(live.app.db, marker, code, "东海预警有限公司", "violation", None))
    j = Journey(browser, live, "console-school-warnings")
    text = log_in(j, live.call(world.user("school", school_id=schools[0]["id"])), "dashboard")
    assert f"{current_cohort(today())}届" in text and "预警单位" in text and "操作日志" in text

    browser.find_element("link text", "预警单位").click()
    text = j.check("warnings")
    assert "本校尚未标记预警单位" in text and code not in text  # four schools: not yet nationwide
    j.fill({"credit_code": code[:-1] + "X", "unit_name": "东海预警有限公司", "category": "fake",
            "note": "招聘信息与实际不符"})
    browser.execute_script("document.querySelector('input[name=credit_code]').removeAttribute('maxlength')")
    j.click("form.card button[type=submit]")
    text = j.check("warnings-refused")
    assert "统一社会信用代码" in text and browser.find_element("name", "note").get_attribute("value") == "招聘信息与实际不符"
    j.fill({"credit_code": code})
    j.click("form.card button[type=submit]")
    text = j.check("warnings-marked")
    assert "已标记为预警单位" in text and "5（全国预警）" in text
    assert code in text.split("全国预警单位")[1]

    browser.find_element("css selector", "button.danger").click()
    alert = browser.switch_to.alert
    assert "确定取消" in alert.text
    alert.accept()
    text = j.check("warnings-removed")
    assert "已取消预警" in text and "本校尚未标记预警单位" in text and code not in text

    browser.find_element("link text", "操作日志").click()
    text = j.check("operations")
    assert "标记预警单位：东海预警有限公司" in text and "取消预警单位：东海预警有限公司" in text

    j.click("header form button")  # 退出
    text = log_in(j, live.call(world.user("province", province_code=schools[0]["province"])), "province-dashboard")
    browser.find_element("link text", "预警单位").click()
    text = j.check("province-warnings")
    assert "标记预警单位" not in text and code not in text  # four marks again: not nationwide
