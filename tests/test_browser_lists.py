"""The console's records list in a real browser on a 1440x900 PC: filter, sort, jump, open a record, over a
seeded cohort of thousands (tests/browser.py)."""
from __future__ import annotations

import re

from demo.large_cohort import remove_cohort, seed_cohort
from tests.browser import Journey, browser_fixture, desktop_browser, live_server_fixture
from tests.support import PASSWORD, World

live, browser = live_server_fixture(), browser_fixture(desktop_browser)


def test_school_officer_filters_sorts_jumps_and_opens_a_record(live, browser, sql):
    world = World(live.app)
    school = live.call(world.school())
    seed_cohort(sql, school["id"], school["cohort"], 2400)
    try:
        walk(live, browser, sql, school)
    finally:
        remove_cohort(sql, school["id"])


def walk(live, browser, sql, school):
    world = World(live.app)
    username = live.call(world.user("school", school_id=school["id"]))
    j = Journey(browser, live, "console-records-list")
    j.open("/admin/login?next=/admin/records")
    j.check("login", ours=False)  # the login page is the console's, checked by its own tests
    j.fill({"username": username, "password": PASSWORD})
    j.click("button[type=submit]")

    text = j.check("list")
    assert "共 2400 条，第 1/48 页" in text and "更新时间" in text
    j.fill({"state": "destination_audit", "department": "理学院"})
    j.click("form.filters button[type=submit]")
    text = j.check("filtered")
    assert "共 80 条，第 1/2 页" in text and "去向登记审核中，等待学校审核" in text

    browser.find_element("link text", "姓名").click()
    text = j.check("sorted-by-name")
    names = [row.find_elements("tag name", "td")[2].text for row in browser.find_elements("css selector", "table.list tr")[1:]]
    want = [r["graduate_name"] for r in sql(
        "SELECT graduate_name FROM records WHERE school_id=%s AND state='destination_audit' AND department='理学院'"
        " ORDER BY graduate_name, id LIMIT 50", (school["id"],))]
    assert names == want and "姓名↑" in text

    j.fill({"department": ""})  # all departments, same state and sort
    j.click("form.filters button[type=submit]")
    assert "共 400 条，第 1/8 页" in j.check("all-departments")
    j.fill({"page": "6"})
    j.click("nav.pager button[type=submit]")
    text = j.check("jumped")
    assert "第 6/8 页" in text
    browser.find_element("link text", "下一页").click()
    assert "第 7/8 页" in j.check("next-page")
    browser.find_element("link text", "末页").click()
    assert "第 8/8 页" in j.check("last-page")

    first = browser.find_elements("css selector", "table.list tr")[1]
    name = first.find_elements("tag name", "td")[2].text
    first.find_element("link text", "查看").click()
    text = j.check("record", ours=False)  # the audit page is the console's, checked by its own journeys
    assert name in text and re.search(r"/admin/records/\d+$", browser.current_url)
