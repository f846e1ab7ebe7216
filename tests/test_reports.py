"""数据统计 and the CSV exports of the filtered lists."""
from __future__ import annotations

import csv
import io

import pytest

from tests.flows import REJECT, Flow


@pytest.mark.gen_test
async def test_statistics_count_registered_under_audit_and_not_registered(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=4)
    g2 = await f.login(f.graduates[1]["username"])
    signed = (await f.new("offline")).json["record"]["id"]
    await f.act(f.S, signed, "pass")
    await f.new("destination", client=g2, uploads=[f.upload("destination-proof", f.graduates[1])])
    stats = (await f.S.get(f"/api/school/statistics?cohort={f.school['cohort']}")).json
    assert stats["totals"] == {"total": 4, "registered": 0, "under_audit": 2, "not_registered": 2}
    await f.act(f.G, signed, "upload_stamped", upload_ids=[f.upload("stamped-agreement")])
    await f.act(f.S, signed, "pass")
    stats = (await f.S.get(f"/api/school/statistics?cohort={f.school['cohort']}")).json
    assert stats["totals"]["registered"] == 1 and stats["rows"][0]["unit"] == "计算机学院"
    assert {"kind": "offline", "state": "signed", "count": 1} in [
        {k: s[k] for k in ("kind", "state", "count")} for s in stats["by_state"]]
    province = await f.login(await world.user("province", province_code=f.school["province"]))
    prov = (await province.get(f"/api/school/statistics?cohort={f.school['cohort']}")).json
    assert any(r["total"] >= 4 for r in prov["rows"])
    assert (await f.G.get("/api/school/statistics")).status == 403


@pytest.mark.gen_test
async def test_statistics_by_major_and_level_with_rate_and_the_day_by_day_counts(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=3)
    sql("UPDATE graduates SET major='计算机科学与技术', level='本科' WHERE id IN (%s, %s)",
        (f.graduates[0]["id"], f.graduates[1]["id"]))
    sql("UPDATE graduates SET major='软件工程', level='硕士' WHERE id=%s", (f.graduates[2]["id"],))
    signed = (await f.new("offline")).json["record"]["id"]
    await f.act(f.S, signed, "pass")
    await f.act(f.G, signed, "upload_stamped", upload_ids=[f.upload("stamped-agreement")])
    await f.act(f.S, signed, "pass")
    base = f"/api/school/statistics?cohort={f.school['cohort']}"
    by_major = (await f.S.get(base + "&group=major")).json
    majors = {r["unit"]: r for r in by_major["rows"]}
    assert by_major["group_text"] == "专业" and majors["软件工程"]["total"] == 1
    assert sum(r["registered"] for r in by_major["rows"]) == 1
    assert majors["计算机科学与技术"]["rate"] == 50.0 and majors["软件工程"]["rate"] == 0.0  # 1 of 2, 0 of 1
    by_level = (await f.S.get(base + "&group=level")).json
    assert by_level["group_text"] == "学历层次" and {r["unit"] for r in by_level["rows"]} >= {"硕士"}
    [today] = by_level["days"]  # this test's records, all today: two audits entered, one registration
    assert today["submitted"] == 2 and today["registered"] == 1
    province = await f.login(await world.user("province", province_code=f.school["province"]))
    assert (await province.get(base + "&group=major")).json["group"] == "school"  # a province sees schools
    assert (await f.S.get(base + "&group=nonsense")).status == 400
    page = await f.S.get(f"/admin?cohort={f.school['cohort']}&group=level")
    assert page.status == 200 and "学历层次" in page.body.decode() and "每日办理量" in page.body.decode()


@pytest.mark.gen_test
async def test_export_is_the_filtered_list_as_csv_with_masked_ids(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=2)
    g2 = await f.login(f.graduates[1]["username"])
    returned = (await f.new("offline")).json["record"]["id"]
    await f.act(f.S, returned, "return", **REJECT)
    await f.new("destination", client=g2, uploads=[f.upload("destination-proof", f.graduates[1])])
    resp = await f.S.get("/api/school/records/export")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    text = resp.body.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["类型"] for r in rows} == {"线下签约（申请就业协议）", "其他毕业去向登记"}
    assert all(g["id_number"] not in text for g in f.graduates) and all("*" in r["身份证号"] for r in rows)
    only_returned = list(csv.DictReader(io.StringIO(
        (await f.S.get("/api/school/records/export?returned=true")).body.decode("utf-8-sig"))))
    assert [r["状态"] for r in only_returned] == ["协议审核待提交（老师退回）"]
    dept_other = await f.login(await world.user("department", school_id=f.school["id"], department="物理学院"))
    other_rows = list(csv.DictReader(io.StringIO(
        (await dept_other.get("/api/school/records/export")).body.decode("utf-8-sig"))))
    assert other_rows == []


@pytest.mark.gen_test
async def test_statistics_of_a_level_limited_school_account_count_only_its_level(world, client, sql):
    school = await world.school()
    await world.graduates(school, 2, login=False, level="本科")
    await world.graduates(school, 3, login=False, level="硕士")
    c = client()
    await c.login(await world.user("school", school_id=school["id"], level_scope="postgraduate"))
    stats = (await c.get(f"/api/school/statistics?cohort={school['cohort']}")).json
    assert stats["totals"]["total"] == 3


@pytest.mark.gen_test
@pytest.mark.parametrize("suffix", ["", ".xlsx"])
async def test_an_export_whose_first_rows_cannot_be_read_is_an_error_answer_not_a_cut_file(
        world, client, sql, monkeypatch, suffix):
    """The headers go out once the first rows are read: a database that fails before them gives a 503 with its
    message, not a 200 with an empty or broken file."""
    from handlers import reports
    from signing.errors import DomainError
    f = await Flow(world, client, sql).setup(graduates=1)

    async def unavailable(*args, **kwargs):
        raise DomainError("service_unavailable")
        yield  # an async generator, as export_batches is

    monkeypatch.setattr(reports, "export_batches", unavailable)
    resp = await f.S.get(f"/api/school/records/export{suffix}")
    assert resp.status == 503 and resp.json["error"]["code"] == "service_unavailable", resp
