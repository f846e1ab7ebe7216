"""The staff list at size: keyset pages, jump, sorts and filters against a seeded cohort of thousands, the cached
count after writes (one, and many in parallel), a department's scope, the CSV and Excel exports (streamed), and
EXPLAIN of the main list query: no filesort, no full scan."""
from __future__ import annotations

import asyncio
import base64
import csv
import io
import tracemalloc

import pytest
from openpyxl import load_workbook
from tornado.httpclient import HTTPRequest

from demo.large_cohort import remove_cohort, seed_cohort
from signing import lists
from signing.actors import Actor
from signing.records_query import list_source, sort_key, status_choices
from tests.flows import UNIT, Flow

N = 3000  # graduates of the seeded cohort, one record each

ORDER = {"updated": "updated_at {d}, id {d}", "name": "graduate_name {d}, id {d}",
         "state": "state {d}, updated_at {d}, id {d}"}


@pytest.fixture
def seeded(world, sql):
    """seeded(n) -> a new school with a cohort of n graduates, one record each; removed after the test (the
    seeded rows carry no real cipher, which other tests of the same database would trip over)."""
    schools = []

    async def seed(n=N):
        school = await world.school()
        schools.append(school)
        seed_cohort(sql, school["id"], school["cohort"], n)
        return school
    yield seed
    for school in schools:
        remove_cohort(sql, school["id"])


def expected_ids(sql, school, where="1=1", args=(), sort="updated", desc=True) -> list[int]:
    order = ORDER[sort].format(d="DESC" if desc else "ASC")
    return [r["id"] for r in sql(f"SELECT id FROM records WHERE school_id=%s AND cohort=%s AND {where}"
                                 f" ORDER BY {order}", (school["id"], school["cohort"], *args))]


async def staff_client(world, client, school, role="school", **scope):
    c = client()
    await c.login(await world.user(role, school_id=school["id"], **scope))
    return c


def ids(resp) -> list[int]:
    assert resp.status == 200, resp
    return [r["id"] for r in resp.json["items"]]


@pytest.mark.gen_test(timeout=120)
async def test_pages_jump_sorts_and_filters_over_a_seeded_cohort(seeded, world, client, sql):
    school = await seeded()
    c = await staff_client(world, client, school)
    base = "/api/school/records?page_size=200"
    everything = expected_ids(sql, school)
    # walking forward by cursor gives every record once, in order; the page count comes with each page
    walked, resp = [], await c.get(base)
    while True:
        assert resp.json["total"] == N and resp.json["pages"] == 15
        walked += ids(resp)
        if not resp.json["next"]:
            break
        resp = await c.get(f"{base}&cursor={resp.json['next']}")
    assert walked == everything and resp.json["page"] == 15
    # back one page by cursor
    back = await c.get(f"{base}&cursor={resp.json['prev']}")
    assert back.json["page"] == 14 and ids(back) == everything[13 * 200:14 * 200]
    # a jump, near the start and near the end (walked from the other end), and the last page
    for page in (2, 6, 11, 14, 15):
        jumped = await c.get(f"{base}&page={page}")
        assert jumped.json["page"] == page and ids(jumped) == everything[(page - 1) * 200:page * 200], page
    assert (await c.get(f"{base}&page=99")).json["page"] == 15  # beyond the end: the last page
    # sorts, both ways
    for sort, desc in (("name", False), ("name", True), ("state", True), ("updated", False)):
        order = "desc" if desc else "asc"
        want = expected_ids(sql, school, sort=sort, desc=desc)
        first = await c.get(f"{base}&sort={sort}&order={order}")
        assert ids(first) == want[:200], sort
        second = await c.get(f"{base}&sort={sort}&order={order}&cursor={first.json['next']}")
        assert ids(second) == want[200:400], sort
        assert ids(await c.get(f"{base}&sort={sort}&order={order}&page=9")) == want[1600:1800], sort
    # filters: each alone and combined, against the database
    filters = [("state=destination_audit", "state='destination_audit'"),
               ("state=signing_audit,registration_audit", "state IN ('signing_audit','registration_audit')"),
               ("department=理学院", "department='理学院'"),
               ("department=理学院&state=signed", "department='理学院' AND state='signed'"),
               ("kind=offline&level=本科", "kind='offline' AND level='本科'"),
               ("initiator=employer", "initiator='employer'"),
               ("audit_stage=department", "audit_stage='department'"),
               ("major=数学", "graduate_id IN (SELECT id FROM graduates WHERE major='数学')")]
    for query, where in filters:
        want = expected_ids(sql, school, where)
        page = 2 if len(want) > 200 else 1
        got = await c.get(f"{base}&{query}&page={page}")
        assert got.json["total"] == len(want) and ids(got) == want[(page - 1) * 200:page * 200], query
    name = sql("SELECT name FROM graduates WHERE school_id=%s LIMIT 1", (school["id"],))[0]["name"]
    assert [r["name"] for r in (await c.get(f"{base}&name={name}")).json["items"]] == [name]
    # a forged cursor is a 400 with a Chinese message, never a 500
    forged = [b"not-a-cursor", b'{"p": 2, "k": [{"a": 1}, 2], "d": "next"}', b'{"p": 2, "k": ["x", 1], "d": "next"}']
    for raw in forged:
        bad = await c.get(f"{base}&cursor={base64.urlsafe_b64encode(raw).decode()}")
        assert bad.status == 400 and bad.error == "invalid_input", raw


@pytest.mark.gen_test(timeout=120)
async def test_the_cached_count_follows_every_write(world, client, sql, request):
    f = await Flow(world, client, sql).setup(graduates=32)
    school = f.school
    seed_cohort(sql, school["id"], school["cohort"], 500)
    request.addfinalizer(lambda: remove_cohort(sql, school["id"]))
    base = "/api/school/records?page_size=10"
    assert (await f.S.get(base)).json["total"] == 500
    # a row written behind the service's back is not counted: the count is served from the cache …
    sql("INSERT INTO records (kind, graduate_id, graduate_name, school_id, cohort, department, level, initiator,"
        " state, data) SELECT 'destination', id, name, school_id, cohort, department, level, 'graduate',"
        " 'registered', '{}' FROM graduates WHERE school_id=%s AND student_number='LC1'", (school["id"],))
    assert (await f.S.get(base)).json["total"] == 500
    # … until a change through the service, which bumps the school's generation in its transaction
    await f.new("offline")
    assert (await f.S.get(base)).json["total"] == 502
    # 31 graduates submit at once while the list is read: the count ends exact
    clients = [await f.login(g["username"]) for g in f.graduates[1:]]
    payload = {"kind": "offline", "action": "submit", "data": UNIT}
    results = await asyncio.gather(*[c.post("/api/graduate/records", payload) for c in clients],
                                   *[f.S.get(base) for _ in range(10)])
    assert [r.status for r in results[:31]] == [201] * 31
    after = (await f.S.get(base)).json
    truth = sql("SELECT COUNT(*) AS n FROM records WHERE school_id=%s AND cohort=%s", (school["id"], school["cohort"]))
    assert after["total"] == truth[0]["n"] == 533
    assert (await f.S.get(base + "&state=agreement_audit")).json["total"] == 32 + 500 // 6


@pytest.mark.gen_test(timeout=120)
async def test_a_department_sees_its_department_only(seeded, world, client, sql):
    school = await seeded(600)
    dept = await staff_client(world, client, school, "department", department="工学院")
    page = await dept.get("/api/school/records?page_size=200&page=1")
    assert page.json["total"] == 120 and {r["department"] for r in page.json["items"]} == {"工学院"}
    # asking for another department changes nothing: the scope is the account's
    assert (await dept.get("/api/school/records?department=文学院")).json["total"] == 0
    rows = list(csv.DictReader(io.StringIO((await dept.get("/api/school/records/export")).body.decode("utf-8-sig"))))
    assert len(rows) == 120 and {r["院系"] for r in rows} == {"工学院"}
    html = (await dept.get("/admin/records")).body.decode()
    assert "共 120 条，第 1/3 页" in html and "文学院" not in html
    # the province sees its schools' records, newest first, through the cohort-first index
    province = client()
    await province.login(await world.user("province", province_code=school["province"]))
    mine = expected_ids(sql, school)
    listed = await province.get(f"/api/school/records?page_size=200&department=工学院&cohort={school['cohort']}")
    assert [i for i in ids(listed) if i in set(mine)] == expected_ids(sql, school, "department='工学院'")


@pytest.mark.gen_test(timeout=120)
async def test_xlsx_and_csv_exports_of_the_filtered_list(seeded, world, client, sql):
    school = await seeded(1200)
    [real] = await world.graduates(school)
    graduate = client()
    await graduate.login(real["username"])
    formula = '=HYPERLINK("http://x")'
    assert (await graduate.post("/api/graduate/records", {"kind": "offline", "action": "submit",
                                                           "data": {**UNIT, "unit_name": formula}})).status == 201
    c = await staff_client(world, client, school)
    query = "kind=offline&sort=name&order=asc"
    book_resp = await c.get(f"/api/school/records/export.xlsx?{query}")
    assert book_resp.status == 200 and book_resp.headers["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(book_resp.body), read_only=True).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    types = {c.value: c.data_type for r in sheet.iter_rows() for c in r if c.value == formula}
    csv_rows = list(csv.reader(io.StringIO((await c.get(f"/api/school/records/export?{query}")).body.decode("utf-8-sig"))))
    header = ["记录编号", "类型", "发起方", "姓名", "身份证号", "院系", "专业", "学历层次", "学号", "单位名称", "状态",
              "协议编号", "创建时间", "更新时间"]
    assert table[0] == csv_rows[0] == header
    want = expected_ids(sql, school, "kind='offline'", sort="name", desc=False)
    assert [r[0] for r in table[1:]] == want == [int(r[0]) for r in csv_rows[1:]]
    # names, not codes; ID numbers masked; a formula stays text
    assert {r[1] for r in table[1:]} == {"线下签约（申请就业协议）"} and {r[2] for r in table[1:]} == {"学生"}
    assert {r[10] for r in table[1:]} >= {"签约审核中，等待学校审核", "就业协议审核中，等待学院审核"}
    assert all("*" in r[4] for r in table[1:]) and real["id_number"] not in book_resp.body.decode("latin-1")
    assert next(r for r in table if r[3] == real["name"])[9] == formula and types == {formula: "s"}  # text
    assert next(r for r in csv_rows if r[3] == real["name"])[9] == "'" + formula
    # the same rows in both, cell for cell (the CSV writes everything as text)
    as_text = [["" if v is None else str(v) for v in r] for r in table[1:]]
    assert [r for r in as_text if r[3] != real["name"]] == [r for r in csv_rows[1:] if r[3] != real["name"]]
    template = await c.get("/api/school/roster-template.xlsx")
    head = next(load_workbook(io.BytesIO(template.body), read_only=True).active.iter_rows(values_only=True))
    assert "身份证号" in head and "届别" in head and len(head) == 20


async def export_peak(http_client, base_url, cookie: str, path: str) -> tuple[int, int]:
    """(bytes received, peak traced allocation) of one export read as a stream."""
    received = 0

    def count(chunk):
        nonlocal received
        received += len(chunk)
    tracemalloc.start()
    try:
        await http_client.fetch(HTTPRequest(base_url + path, headers={"Cookie": cookie}, streaming_callback=count,
                                            request_timeout=120))
        return received, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.gen_test(timeout=180)
async def test_a_large_export_streams(seeded, world, client, sql, http_client, base_url):
    school = await seeded(6000)
    c = await staff_client(world, client, school)
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    await export_peak(http_client, base_url, cookie, "/api/school/records/export?name=nobody")  # first-use costs
    small_bytes, small_peak = await export_peak(http_client, base_url, cookie, "/api/school/records/export?kind=online")
    large_bytes, large_peak = await export_peak(http_client, base_url, cookie, "/api/school/records/export")
    assert large_bytes > 5 * small_bytes  # six times the rows …
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)  # … in about the memory of one batch


def plan(sql, source: str, args: list, sort: str, seek: bool = False) -> list[dict]:
    columns = lists.SORTS[sort]
    cond, cond_args = lists.seek(columns, ["2026-06-01 09:00:00" if c.endswith("_at") else "张" if "name" in c
                                           else "signed" if c.endswith("state") else 10**9 for c in columns], True)
    where = f" AND {cond}" if seek else ""
    return sql(f"EXPLAIN SELECT STRAIGHT_JOIN r.id, {', '.join(columns)} {source}{where} ORDER BY {lists.order_by(columns, True)}"
               " LIMIT 50", [*args, *(cond_args if seek else [])])


@pytest.mark.gen_test(timeout=120)
async def test_the_list_query_reads_an_index_in_order(seeded, sql):
    school = await seeded()
    sql("ANALYZE TABLE records")
    school_actor = Actor(1, "school", "学校", school_id=school["id"], permissions={"employment": "read_write"})
    dept_actor = Actor(2, "department", "院系", school_id=school["id"], department="理学院",
                       permissions={"employment": "read_only"})
    cases = [(school_actor, {}, sort) for sort in lists.SORTS]
    cases += [(school_actor, {"state": "destination_audit"}, sort) for sort in lists.SORTS]
    cases += [(school_actor, {"department": "工学院"}, "updated"), (school_actor, {"department": "工学院",
              "state": "signed"}, "name"), (school_actor, {"kind": "offline", "level": "本科"}, "updated")]
    cases += [(dept_actor, {}, sort) for sort in lists.SORTS] + [(dept_actor, {"state": "signed"}, "updated")]
    province = Actor(3, "province", "省级", province_code=school["province"])
    cases += [(province, {}, sort) for sort in lists.SORTS] + [(province, {"state": "signed"}, "name")]
    for actor, filters, sort in cases:
        sort = sort_key(sort, filters)
        source, args = list_source(actor, {**filters, "cohort": school["cohort"]}, sort=sort)
        for seek in (False, True):
            rows = plan(sql, source, args, sort, seek)
            assert not any("filesort" in (r["Extra"] or "") or "temporary" in (r["Extra"] or "") for r in rows), rows
            row = next(r for r in rows if r["table"] == "r")
            extra = row["Extra"] or ""
            assert "filesort" not in extra and "temporary" not in extra, (filters, sort, row["key"], row)
            assert row["type"] in ("ref", "range") and row["key"].startswith("ix_list_"), (filters, sort, row)
            if set(filters) <= {"state", "department"} and actor.role != "province":  # a jump walks the index alone
                assert "Using index" in extra.replace("Using index condition", ""), (filters, sort, row)
    # the state filter offers each text once; states that read the same are one option
    texts = [text for _, text in status_choices()]
    assert len(texts) == len(set(texts)) and ("signing_audit,registration_audit", "签约审核中，等待学院/学校审核") in \
        status_choices()


@pytest.mark.gen_test(timeout=60)
async def test_a_renamed_graduate_is_listed_under_the_new_name(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    before = sql("SELECT updated_at FROM records WHERE id=%s", (rid,))[0]["updated_at"]
    assert (await f.S.get(f"/api/school/records?name={f.g['name']}")).json["total"] == 1
    await world.import_rows([{**f.g["row"], "姓名": "覃新名"}])  # EMS corrected the name
    assert (await f.S.get(f"/api/school/records?name={f.g['name']}")).json["total"] == 0
    renamed = (await f.S.get("/api/school/records?name=覃新名")).json
    assert [r["id"] for r in renamed["items"]] == [rid] and renamed["items"][0]["name"] == "覃新名"
    assert sql("SELECT updated_at FROM records WHERE id=%s", (rid,))[0]["updated_at"] == before
