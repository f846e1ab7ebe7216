"""The console's records list in a real browser on a 1440x900 PC over a seeded cohort of 20,000 graduates:
filter, sort, jump, open a record, and download the list as an Excel file that openpyxl opens
(tests/browser.py)."""
from __future__ import annotations

import re
import time

from openpyxl import load_workbook

from demo.large_cohort import remove_cohort, seed_cohort
from tests.browser import Journey, browser_fixture, desktop_browser, live_server_fixture
from tests.support import PASSWORD, World

live, browser = live_server_fixture(), browser_fixture(desktop_browser)
COHORT_SIZE = 20_000
PAGE = 50


def test_school_officer_filters_sorts_jumps_opens_and_exports_20000_graduates(live, browser, sql, tmp_path):
    world = World(live.app)
    school = live.call(world.school())
    seed_cohort(sql, school["id"], school["cohort"], COHORT_SIZE)
    try:
        walk(live, browser, sql, school)
        export(live, browser, sql, school, tmp_path)
    finally:
        remove_cohort(sql, school["id"])


def count(sql, school, where: str = "1=1") -> int:
    return sql(f"SELECT COUNT(*) AS n FROM records WHERE school_id=%s AND {where}", (school["id"],))[0]["n"]


def pages(n: int) -> int:
    return -(-n // PAGE)


def walk(live, browser, sql, school):
    world = World(live.app)
    username = live.call(world.user("school", school_id=school["id"]))
    j = Journey(browser, live, "console-records-list")
    j.open("/admin/login?next=/admin/records")
    j.check("login", ours=False)  # the login page is the console's, checked by its own tests
    j.fill({"username": username, "password": PASSWORD})
    j.click("button[type=submit]")

    text = j.check("list")
    assert f"共 {COHORT_SIZE} 条，第 1/{pages(COHORT_SIZE)} 页" in text and "更新时间" in text
    j.fill({"state": "destination_audit", "department": "理学院"})
    j.click("form.filters button[type=submit]")
    text = j.check("filtered")
    n = count(sql, school, "state='destination_audit' AND department='理学院'")
    assert f"共 {n} 条，第 1/{pages(n)} 页" in text and "去向登记审核中，等待学校审核" in text

    browser.find_element("link text", "姓名").click()
    text = j.check("sorted-by-name")
    names = [row.find_elements("tag name", "td")[2].text for row in browser.find_elements("css selector", "table.list tr")[1:]]
    want = [r["graduate_name"] for r in sql(
        "SELECT graduate_name FROM records WHERE school_id=%s AND state='destination_audit' AND department='理学院'"
        " ORDER BY graduate_name, id LIMIT 50", (school["id"],))]
    assert names == want and "姓名↑" in text

    j.fill({"department": ""})  # all departments, same state and sort
    j.click("form.filters button[type=submit]")
    n = count(sql, school, "state='destination_audit'")
    last = pages(n)
    assert f"共 {n} 条，第 1/{last} 页" in j.check("all-departments")
    j.fill({"page": str(last // 2)})
    j.click("nav.pager button[type=submit]")
    text = j.check("jumped")
    assert f"第 {last // 2}/{last} 页" in text
    browser.find_element("link text", "下一页").click()
    assert f"第 {last // 2 + 1}/{last} 页" in j.check("next-page")
    browser.find_element("link text", "末页").click()
    assert f"第 {last}/{last} 页" in j.check("last-page")
    rows = browser.find_elements("css selector", "table.list tr")[1:]
    assert len(rows) == n - (last - 1) * PAGE

    first = rows[0]
    name = first.find_elements("tag name", "td")[2].text
    first.find_element("link text", "查看").click()
    text = j.check("record", ours=False)  # the audit page is the console's, checked by its own journeys
    assert name in text and re.search(r"/admin/records/\d+$", browser.current_url)


def export(live, browser, sql, school, downloads):
    """The whole cohort, unfiltered, as the Excel file the browser saves."""
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    j = Journey(browser, live, "console-records-export")
    j.open("/admin/records")
    assert f"共 {COHORT_SIZE} 条" in j.check("list")
    browser.find_element("link text", "Excel表格").click()  # a download link: the page stays
    deadline = time.monotonic() + 300
    while not (files := list(downloads.glob("*.xlsx"))) and time.monotonic() < deadline:
        time.sleep(0.5)  # Chrome writes NAME.crdownload and renames it when the download is complete
    assert files, "the Excel download did not finish"
    sheet = load_workbook(files[0], read_only=True).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:5] == ("记录编号", "类型", "发起方", "姓名", "身份证号")
    assert len(table) == 1 + COHORT_SIZE
    want = {r["id"] for r in sql("SELECT id FROM records WHERE school_id=%s", (school["id"],))}
    assert {r[0] for r in table[1:]} == want
    assert all("*" in r[4] for r in table[1:])  # ID numbers masked
    states = {r[10] for r in table[1:]}
    assert "去向登记审核中，等待学校审核" in states and not any(re.fullmatch(r"[a-z_]+", s) for s in states)
