"""The staff console in a real browser at PC size (1440x900): a school logs in, sees its dashboard on the
signing cohort, marks a warning unit (a refused form first, then the fifth school's mark makes it
nationwide), removes it after the confirmation dialog and finds both in the operation log; the province then
sees the nationwide list read-only; an audit with its photo; a province setting its modules, the ministry
reading every province, the platform administrator refusing a certification. Every page is checked
(tests/browser.py)."""
from __future__ import annotations

from selenium.webdriver.support.ui import Select, WebDriverWait

from demo.sample_data import make_credit_code
from documents.storage import FileStore
from documents.uploads import accept_upload
from signing import warnings
from signing.clock import today
from signing.eligibility import current_cohort
from signing.records_service import ActionInput, perform, start
from tests.browser import Journey, browser_fixture, desktop_browser, live_server_fixture
from tests.flows import REJECT, UNIT
from tests.image_corpus import sharp_stamped_jpeg
from tests.support import PASSWORD, World
from tests.test_browser_graduate import actor

live, browser = live_server_fixture(), browser_fixture(desktop_browser)


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


def test_school_audits_a_paper_registration_with_its_photo_returns_it_and_passes_it(live, browser):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    graduate = actor(live, g["username"])
    photo = live.call(accept_upload(live.app.db, FileStore(live.config.upload_dir), "paper-agreement",
                                    sharp_stamped_jpeg(), graduate_id=g["id"], uploaded_by=graduate.user_id))
    rid = live.call(start(live.app.db, graduate, "paper", "submit", g["id"],
                          ActionInput(data=UNIT, upload_ids=[photo["id"]])))
    j = Journey(browser, live, "console-audit")
    log_in(j, live.call(world.user("school", school_id=school["id"])), "dashboard")
    j.open(f"/admin/records/{rid}")
    text = j.check("audit")
    assert "纸质就业协议书" in text and "单位性质" in text and g["name"] in text
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(  # the photo is shown inline
        "return [...document.querySelectorAll('figure.photo img')].every(i => i.complete && i.naturalWidth > 0)"))
    j.click("figure.photo a")
    j.click("#viewer [data-do=rotate]")
    j.click("#viewer [data-do=zoom]")
    assert "rotate(90deg)" in browser.find_element("css selector", "#viewer img").get_attribute("style")
    j.check("photo-viewer")
    j.click("#viewer [data-do=close]")

    # 审核不通过 asks first; declining the dialog sends nothing
    reject = "form[action$='/act/reject']"
    Select(browser.find_element("css selector", f"{reject} select[name=reason]")).select_by_visible_text(REJECT["reason"])
    browser.find_element("css selector", f"{reject} input[name=explanation]").send_keys(REJECT["explanation"])
    j.click(f"{reject} button[type=submit]")
    alert = browser.switch_to.alert
    assert "不可撤回" in alert.text
    alert.dismiss()
    assert live.call(live.app.db.fetchone("SELECT state FROM records WHERE id=%s", (rid,)))["state"] != "rejected"

    # the reason list starts empty and is required; with a reason and an explanation the record goes back
    form = "form[action$='/act/return']"
    select = browser.find_element("css selector", f"{form} select[name=reason]")
    assert select.get_attribute("value") == "" and select.get_attribute("required") == "true"
    Select(select).select_by_visible_text(REJECT["reason"])
    browser.find_element("css selector", f"{form} input[name=explanation]").send_keys(REJECT["explanation"])
    j.click(f"{form} button[type=submit]")
    text = j.check("returned")
    assert "已完成：退回修改" in text

    live.call(perform(live.app.db, graduate, rid, "submit", ActionInput(data=UNIT, upload_ids=[photo["id"]])))
    j.open(f"/admin/records/{rid}")
    j.click("form[action$='/act/pass'] button[type=submit]")
    text = j.check("passed")
    assert "已完成：审核通过" in text


def test_province_ministry_and_platform_administrator_each_reach_their_pages(live, browser):
    world = World(live.app)
    code = live.call(world.province(employment=False))
    employer = live.call(world.employer(certification="pending"))
    j = Journey(browser, live, "console-other-roles")

    text = log_in(j, live.call(world.user("province", province_code=code)), "province-dashboard")
    assert "省级功能设置" in text and "签约设置" not in text
    browser.find_element("link text", "省级功能设置").click()
    j.check("province-settings")
    j.fill({"agreement_type": "three_party"})
    j.click("input[name=module_employment]")
    j.click("form.card button[type=submit]")
    alert = browser.switch_to.alert
    assert "不可关闭" in alert.text
    alert.accept()
    text = j.check("province-saved")
    assert "已保存" in text and "（已开启，不可关闭）" in text
    j.click("header form button")

    text = log_in(j, live.call(world.user("ministry")), "ministry-dashboard")
    browser.find_element("link text", "各省功能设置").click()
    text = j.check("ministry-provinces")
    assert f"测试省{code}" in text and "三方协议（院校审核）" in text
    j.click("header form button")

    text = log_in(j, live.call(world.user("admin")), "certification-queue")
    assert employer["credit_code"] in text and "单位认证" in text and "毕业去向与网签信息" not in text
    row = f"//tr[td[contains(., '{employer['credit_code']}')]]"
    Select(browser.find_element("xpath", f"{row}//select[@name='decision']")).select_by_value("refused")
    browser.find_element("xpath", f"{row}//input[@name='note']").send_keys("营业执照照片不清晰")
    browser.find_element("xpath", f"{row}//button[@type='submit']").click()
    browser.switch_to.alert.accept()
    text = j.check("certification-refused")
    assert "已拒绝认证" in text and employer["credit_code"] not in text  # no longer waiting
