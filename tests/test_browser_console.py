"""The staff console in a real browser at PC size (1440x900): a school logs in, sees its dashboard on the
signing cohort, marks a warning unit (a refused form first, then the fifth school's mark makes it
nationwide), removes it after the confirmation dialog and finds both in the operation log; the province then
sees the nationwide list read-only; an audit with its photo; a province setting its modules, the ministry
reading every province, the platform administrator refusing a certification. Every page is checked
(tests/browser.py)."""
from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.support.ui import Select, WebDriverWait

from demo.sample_data import make_credit_code, roster_csv
from documents.storage import FileStore
from documents.uploads import accept_upload
from notify.delivery import Notifier
from signing import clock, registrations, warnings
from signing.actors import SYSTEM
from signing.clock import today
from signing.eligibility import current_cohort
from signing.records_service import ActionInput, perform, start
from signing.settings_service import update_province
from tests.browser import Journey, browser_fixture, desktop_browser, live_server_fixture
from tests.flows import CANCEL, REJECT, UNIT
from tests.image_corpus import sharp_stamped_jpeg
from tests.support import PASSWORD, World
from tests.test_browser_graduate import actor

live, browser = live_server_fixture(), browser_fixture(desktop_browser)
HUKOU = {"move_type": "迁往单位所在地", "address": "上海市浦东新区世纪大道100号", "postcode": "200120",
         "contact": "王老师", "phone": "021-50501234"}


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


def submit_paper(live, g: dict) -> tuple[int, dict]:
    """The graduate registers a paper agreement with its stamped photo: the record id and the photo."""
    graduate = actor(live, g["username"])
    photo = live.call(accept_upload(live.app.db, FileStore(live.config.upload_dir), "paper-agreement",
                                    sharp_stamped_jpeg(), graduate_id=g["id"], uploaded_by=graduate.user_id))
    return live.call(start(live.app.db, graduate, "paper", "submit", g["id"],
                           ActionInput(data=UNIT, upload_ids=[photo["id"]]))), photo


def test_school_audits_a_paper_registration_with_its_photo_returns_it_and_passes_it(live, browser):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    graduate = actor(live, g["username"])
    rid, photo = submit_paper(live, g)
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


def test_department_passes_first_the_school_then_forces_a_cancellation_and_the_department_reviews_hukou(
        live, browser, sql):
    world = World(live.app)
    code = live.call(world.province())
    live.call(update_province(live.app.db, SYSTEM, code, {"module_hukou": True}))
    school = live.call(world.school(province=code))
    sql("UPDATE school_settings SET audit_mode='department_then_school' WHERE school_id=%s", (school["id"],))
    g, other = live.call(world.graduates(school, 2, department="计算机学院"))
    sql("UPDATE graduates SET department='外国语学院' WHERE id=%s", (other["id"],))
    graduate, employer = actor(live, g["username"]), live.call(world.employer())
    rid = live.call(start(live.app.db, actor(live, employer["username"]), "online", "invite", g["id"],
                          ActionInput(data=UNIT, deadline=clock.now() + timedelta(days=7))))
    live.call(perform(live.app.db, graduate, rid, "accept", ActionInput()))
    live.call(registrations.save(live.app.db, graduate, "hukou", HUKOU, submit=True))

    j = Journey(browser, live, "console-department")
    department = live.call(world.user("department", school_id=school["id"], department="计算机学院",
                                      permissions={"employment": "read_write", "hukou": "read_write"}))
    text = log_in(j, department, "department-dashboard")
    assert "计算机学院" in text and "外国语学院" not in text  # its own department only
    browser.find_element("link text", "专业").click()
    assert "按 院系 专业 学历层次 统计" in j.check("department-by-major")
    browser.find_element("link text", "毕业去向与网签信息").click()
    text = j.check("department-records")
    assert g["name"] in text and other["name"] not in text and "等待学院审核" in text
    browser.find_element("link text", "查看").click()
    j.check("department-audit")
    j.click("form[action$='/act/pass'] button[type=submit]")
    text = j.check("department-passed")
    assert "已完成：审核通过" in text and "等待学校审核" in text

    j.open("/admin/registrations?module=hukou")
    text = j.check("hukou-review")
    assert g["name"] in text and "户口迁移方式" in text and HUKOU["move_type"] in text
    j.click("form.inline button.primary")  # 审核通过
    text = j.check("hukou-approved")
    assert f"已审核通过：{g['name']}" in text
    j.click("header form button")

    log_in(j, live.call(world.user("school", school_id=school["id"])), "school-dashboard")
    j.open(f"/admin/records/{rid}")
    j.click("form[action$='/act/pass'] button[type=submit]")
    assert "已完成：审核通过" in j.check("school-passed")
    assert sql("SELECT state FROM records WHERE id=%s", (rid,))[0]["state"] == "signed"

    # the graduate asks to cancel; the unit does not answer; the school cancels by force, after the dialog
    live.call(perform(live.app.db, graduate, rid, "request_cancel", ActionInput(**CANCEL)))
    j.open(f"/admin/records/{rid}")
    text = j.check("cancel-pending")
    assert "强制解约" in text and CANCEL["explanation"] in text
    form = "form[action$='/act/force_cancel']"
    browser.find_element("css selector", f"{form} [name=explanation]").send_keys("用人单位逾期未答复，学校依规解约")
    j.click(f"{form} button[type=submit]")
    alert = browser.switch_to.alert
    assert alert.text == "确定强制解约？此操作提交后不可撤回。"
    alert.accept()
    text = j.check("force-cancelled")
    assert "已完成：强制解约" in text and "学校依规解约" in text
    assert sql("SELECT state FROM records WHERE id=%s", (rid,))[0]["state"] == "cancelled"


def test_ministry_reads_the_national_overview_and_opens_one_province(live, browser):
    world = World(live.app)
    codes = [live.call(world.province()) for _ in range(2)]
    schools = [live.call(world.school(province=c)) for c in codes]
    graduates = [live.call(world.graduates(s, 2)) for s in schools]
    submit_paper(live, graduates[0][0])
    j = Journey(browser, live, "console-ministry")
    text = log_in(j, live.call(world.user("ministry")), "national-overview")
    assert "全国" in text and "省份" in text and all(f"测试省{c}" in text for c in codes)
    browser.find_element("link text", "院校").click()
    assert "测试大学" in j.check("national-by-school")
    browser.find_element("link text", "省份").click()
    j.check("national-by-province")
    browser.find_element("link text", f"测试省{codes[0]}").click()
    text = j.check("one-province")
    assert f"测试省{codes[0]}{schools[0]['cohort']}届 数据统计" in text and "返回全国各省统计" in text
    rows = {tr.find_elements("tag name", "td")[0].text: [td.text for td in tr.find_elements("tag name", "td")[1:5]]
            for tr in browser.find_elements("css selector", "table.nowrap-heads tr")[1:]}
    [(name, counts)] = rows.items()  # one school in that province
    assert counts == ["2", "0", "1", "1"]  # total, registered, under audit, not registered


def test_school_officer_keeps_settings_imports_a_refused_roster_lists_students_and_reads_deliveries(
        live, browser, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    [g] = live.call(world.graduates(school))
    rid, _ = submit_paper(live, g)
    school_user = live.call(world.user("school", school_id=school["id"]))
    live.call(perform(live.app.db, actor(live, school_user), rid, "return", ActionInput(**REJECT)))
    live.call(Notifier(live.app).run_once())  # the graduate hears of the return: WeChat (not bound) and SMS
    j = Journey(browser, live, "console-school-pages")
    log_in(j, school_user, "dashboard")

    browser.find_element("link text", "签约设置").click()
    j.check("settings")
    j.fill({"max_cancellations": "3"})
    j.click("form.card button[type=submit]")
    text = j.check("settings-saved")
    assert "已保存" in text and browser.find_element("name", "max_cancellations").get_attribute("value") == "3"

    browser.find_element("link text", "名单导入").click()
    j.check("roster")
    bad = world.roster_rows(school, 2)
    bad[1]["身份证号"] = "11010120000101123"  # 17 digits
    roster = tmp_path / "名单.csv"
    roster.write_bytes(roster_csv(bad))
    browser.find_element("css selector", "input[type=file]").send_keys(str(roster))
    j.click("form.card button[type=submit]")
    text = j.check("roster-refused")
    assert "错误行" in text and "身份证号" in text.split("错误行")[1]

    browser.find_element("link text", "学生名单").click()
    text = j.check("students")
    assert g["name"] in text and g["id_number"] not in text and g["id_number"][-4:] in text  # masked

    browser.find_element("link text", "通知发送记录").click()
    text = j.check("deliveries")
    assert g["name"] in text and "短信" in text and g["phone"] not in text
    Select(browser.find_element("name", "channel")).select_by_visible_text("短信")
    j.click("form.filters button[type=submit]")
    text = j.check("deliveries-sms")
    assert "共 1 条" in text and "已发送" in text
