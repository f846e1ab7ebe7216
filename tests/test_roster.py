"""Roster import (SPEC section 2): whole-file validation, idempotency, invalidation and restore, masking."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from demo.sample_data import roster_csv
from signing.roster import COLUMNS


async def school_admin(world, client, school, **perm):
    c = client()
    await c.login(await world.user("school", school_id=school["id"], **perm))
    return c


def xlsx(rows: list[dict]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    for r in rows:
        ws.append([r[c] for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.gen_test
async def test_import_csv_adds_graduates_with_id_numbers_protected(world, client, sql):
    school = await world.school()
    c = await school_admin(world, client, school)
    rows = world.roster_rows(school, 3)
    resp = await c.upload("/api/school/roster", "file", "名单.csv", roster_csv(rows))
    assert resp.status == 200, resp
    assert resp.json["import"] | {"import_id": 0} == {"import_id": 0, "school_code": school["code"],
                                                      "cohort": school["cohort"], "rows": 3, "added": 3,
                                                      "updated": 0, "restored": 0, "invalidated": 0}
    stored = sql("SELECT id_cipher, id_masked, id_hash FROM graduates WHERE school_id=%s", (school["id"],))
    dump = repr(stored)
    for r in rows:
        assert r["身份证号"] not in dump and r["身份证号"][6:14] not in dump
    assert all(s["id_masked"].count("*") == 10 for s in stored)


@pytest.mark.gen_test
async def test_import_xlsx_is_accepted(world, client):
    school = await world.school()
    c = await school_admin(world, client, school)
    resp = await c.upload("/api/school/roster", "file", "roster.xlsx", xlsx(world.roster_rows(school, 2)))
    assert resp.status == 200, resp
    assert resp.json["import"]["added"] == 2


@pytest.mark.gen_test
async def test_reimport_of_the_same_file_changes_nothing(world, client, sql):
    school = await world.school()
    c = await school_admin(world, client, school)
    content = roster_csv(world.roster_rows(school, 3))
    await c.upload("/api/school/roster", "file", "a.csv", content)
    again = await c.upload("/api/school/roster", "file", "a.csv", content)
    assert again.json["import"]["added"] == 0 and again.json["import"]["updated"] == 3
    assert sql("SELECT COUNT(*) n FROM graduates WHERE school_id=%s", (school["id"],))[0]["n"] == 3


@pytest.mark.gen_test
async def test_bad_rows_refuse_the_whole_file_with_each_line_and_reason(world, client, sql):
    school = await world.school()
    c = await school_admin(world, client, school)
    rows = world.roster_rows(school, 4)
    rows[1]["身份证号"] = rows[1]["身份证号"][:-1] + ("0" if rows[1]["身份证号"][-1] != "0" else "1")
    rows[2]["培养方式"] = "99"
    rows[3]["毕业年月"] = "2026-06"
    resp = await c.upload("/api/school/roster", "file", "bad.csv", roster_csv(rows))
    assert resp.status == 422 and resp.error == "roster_file_invalid"
    lines = {d["line"]: d["reasons"] for d in resp.json["error"]["details"]}
    assert set(lines) == {3, 4, 5}
    assert "身份证号校验位不正确" in lines[3]
    assert any("培养方式" in r for r in lines[4])
    assert any("毕业年月" in r for r in lines[5])
    assert sql("SELECT COUNT(*) n FROM graduates WHERE school_id=%s", (school["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_duplicate_id_numbers_in_one_file_are_refused(world, client):
    school = await world.school()
    c = await school_admin(world, client, school)
    rows = world.roster_rows(school, 2)
    rows[1]["身份证号"] = rows[0]["身份证号"]
    rows[1]["出生日期"] = rows[0]["出生日期"]
    resp = await c.upload("/api/school/roster", "file", "dup.csv", roster_csv(rows))
    assert resp.status == 422
    assert "身份证号与第2行重复" in resp.json["error"]["details"][0]["reasons"]


@pytest.mark.gen_test
@pytest.mark.parametrize("content,code", [
    (b"", "roster_file_invalid"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "roster_file_type"),
    (b"PK\x03\x04garbage", "roster_file_type"),
    ("姓名,性别\n张三,男\n".encode(), "roster_file_invalid"),
])
async def test_unreadable_or_incomplete_files_are_refused(world, client, content, code):
    school = await world.school()
    c = await school_admin(world, client, school)
    resp = await c.upload("/api/school/roster", "file", "x.csv", content)
    assert 400 <= resp.status < 500 and resp.error == code, resp


@pytest.mark.gen_test
async def test_missing_graduate_becomes_invalid_and_returns_on_reimport(world, client, sql):
    school = await world.school()
    c = await school_admin(world, client, school)
    rows = world.roster_rows(school, 3)
    await c.upload("/api/school/roster", "file", "full.csv", roster_csv(rows))
    second = await c.upload("/api/school/roster", "file", "two.csv", roster_csv(rows[:2]))
    assert second.json["import"]["invalidated"] == 1
    invalid = await c.get(f"/api/school/graduates?status=invalid&cohort={school['cohort']}")
    assert [g["name"] for g in invalid.json["items"]] == [rows[2]["姓名"]]
    third = await c.upload("/api/school/roster", "file", "full.csv", roster_csv(rows))
    assert third.json["import"]["restored"] == 1 and third.json["import"]["added"] == 0
    assert sql("SELECT COUNT(*) n FROM graduates WHERE school_id=%s AND status='valid'", (school["id"],))[0]["n"] == 3


@pytest.mark.gen_test
async def test_file_of_another_school_is_refused(world, client):
    mine, other = await world.school(), await world.school()
    c = await school_admin(world, client, mine)
    resp = await c.upload("/api/school/roster", "file", "x.csv", roster_csv(world.roster_rows(other, 1)))
    assert resp.status == 422 and resp.error == "roster_school_mismatch"


@pytest.mark.gen_test
async def test_read_only_school_account_cannot_import(world, client):
    school = await world.school()
    c = await school_admin(world, client, school, permissions={"employment": "read_only"})
    resp = await c.upload("/api/school/roster", "file", "x.csv", roster_csv(world.roster_rows(school, 1)))
    assert resp.status == 403 and resp.error == "read_only"


@pytest.mark.gen_test
async def test_list_masks_personal_data_and_finds_by_id_number(world, client):
    school = await world.school()
    gs = await world.graduates(school, 3, login=False)
    c = await school_admin(world, client, school)
    resp = await c.get(f"/api/school/graduates?id_number={gs[1]['id_number']}")
    assert resp.status == 200 and resp.json["total"] == 1
    item = resp.json["items"][0]
    assert item["id"] == gs[1]["id"]
    assert gs[1]["id_number"] not in resp.body.decode() and gs[1]["row"]["手机号"] not in resp.body.decode()
    assert "****" in item["phone_masked"]


@pytest.mark.gen_test
async def test_department_sees_only_its_department(world, client):
    school = await world.school()
    mine = await world.graduates(school, 2, login=False, department="数学学院")
    theirs = await world.graduates(school, 1, login=False, department="物理学院")
    c = client()
    await c.login(await world.user("department", school_id=school["id"], department="数学学院"))
    resp = await c.get("/api/school/graduates")
    assert {g["id"] for g in resp.json["items"]} == {g["id"] for g in mine}
    assert (await c.get(f"/api/school/graduates/{theirs[0]['id']}")).status == 404


@pytest.mark.gen_test
async def test_other_school_graduate_is_not_found(world, client):
    mine, other = await world.school(), await world.school()
    [g] = await world.graduates(other, login=False)
    c = await school_admin(world, client, mine)
    assert (await c.get(f"/api/school/graduates/{g['id']}")).status == 404


@pytest.mark.gen_test
async def test_graduate_and_employer_cannot_list_the_roster(world, client):
    school = await world.school()
    [g] = await world.graduates(school)
    employer = await world.employer()
    for username in (g["username"], employer["username"]):
        c = client()
        await c.login(username)
        assert (await c.get("/api/school/graduates")).status == 403


@pytest.mark.gen_test
async def test_graduate_confirms_roster_data_once(world, client):
    school = await world.school()
    [g] = await world.graduates(school)
    c = client()
    await c.login(g["username"])
    profile = await c.get("/api/graduate/profile")
    assert profile.json["graduate"]["confirmed_at"] is None and profile.json["graduate"]["may_act"]
    assert g["id_number"] not in profile.body.decode()
    assert (await c.post("/api/graduate/profile/confirm")).status == 200
    again = await c.post("/api/graduate/profile/confirm")
    assert again.status == 409 and again.error == "already_confirmed"


@pytest.mark.gen_test
async def test_invalid_graduate_cannot_confirm(world, client, sql):
    school = await world.school()
    [g] = await world.graduates(school)
    sql("UPDATE graduates SET status='invalid' WHERE id=%s", (g["id"],))
    c = client()
    await c.login(g["username"])
    resp = await c.post("/api/graduate/profile/confirm")
    assert resp.status == 409 and resp.error == "graduate_invalid"


@pytest.mark.gen_test
async def test_import_is_written_to_the_operation_log(world, client):
    school = await world.school()
    c = await school_admin(world, client, school)
    await c.upload("/api/school/roster", "file", "a.csv", roster_csv(world.roster_rows(school, 2)))
    log = await c.get("/api/operations?target_type=roster_import")
    assert log.status == 200 and "新增2" in log.json["items"][0]["summary"]
