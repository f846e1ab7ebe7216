"""The stamped photo proves it is this agreement: the QR code and the text read from the photo are compared with
the record. Photos are made from the record's own PDF (tests/agreement_photos.py), over HTTP against the app."""
from __future__ import annotations

import functools
import json

import pytest

from documents import recognition
from tests import agreement_photos as photos
from tests import image_corpus as corpus
from tests.flows import UNIT, Flow
from tests.test_commands import run as run_command
from tests.test_employer_link import approved_offline, post_photo, request_link
from tests.test_uploads import stored_files


@pytest.fixture(scope="module", autouse=True)
def ocr_ready():
    """One pool and one OCR engine for the whole session, started before the first photo; and a budget for a test
    machine shared with other runs (production's BUDGET_SECONDS is met by a second or two: see the bench)."""
    recognition._executor().submit(recognition._warm).result(timeout=120)
    budget, recognition.BUDGET_SECONDS = recognition.BUDGET_SECONDS, 60.0
    yield
    recognition.BUDGET_SECONDS = budget


@functools.cache
def _stamped_pages(pdf: bytes) -> tuple:
    return tuple(photos.stamp(photos.pages(pdf)))


async def stamped_pages(f, rid: int, graduate_client=None) -> tuple:
    """The record's own agreement PDF (as its graduate downloads it), rendered and stamped."""
    pdf = await (graduate_client or f.G).get(f"/api/records/{rid}/agreement.pdf")
    assert pdf.status == 200, pdf
    return _stamped_pages(pdf.body)


async def upload(c, content: bytes, rid: int | None, kind: str = "stamped-agreement"):
    query = f"kind={kind}" + (f"&record_id={rid}" if rid else "")
    return await c.upload(f"/api/uploads?{query}", "file", "photo.jpg", content, content_type="image/jpeg")


async def two_agreements(world, client, sql):
    """A school with two graduates, each with an approved offline agreement: (flow, mine, other's)."""
    f = await Flow(world, client, sql).setup(graduates=2)
    mine = await approved_offline(f)
    other_g = await f.login(f.graduates[1]["username"])
    other = (await f.new("offline", client=other_g)).json["record"]["id"]
    assert (await f.act(f.S, other, "pass")).json["record"]["state"] == "agreement_approved"
    f.other_client = other_g
    return f, mine, other


@pytest.mark.gen_test(timeout=240)
async def test_genuine_photos_are_accepted_and_photos_of_another_agreement_or_person_refused(world, client, sql,
                                                                                          config):
    f, rid, other_rid = await two_agreements(world, client, sql)
    first, signature = await stamped_pages(f, rid)
    number = sql("SELECT agreement_number FROM records WHERE id=%s", (rid,))[0]["agreement_number"]

    genuine = {  # perspective, rotation, blur, shadow, phone JPEG quality; and a real-size 12 MP photo
        "first page": photos.photograph(first, angle=3, tilt=0.04, blur=0.9, quality=80),
        "signature page": photos.photograph(signature, angle=-5, tilt=0.06, blur=1.2, quality=70, seed=2),
        "12 MP signature page": photos.photograph(signature, size=photos.TWELVE_MP, angle=2, quality=85, seed=3),
    }
    accepted, statuses = [], []
    for name, content in genuine.items():
        resp = await upload(f.G, content, rid)
        assert resp.status == 201, (name, resp)
        reading = resp.json["upload"]["reading"]
        if name == "first page" and reading["status"] == "to_check":  # its number did not read: the name did
            assert {c["field"]: c["ok"] for c in reading["checks"]}["graduate_name"], reading
        else:
            assert reading["status"] == "matched", (name, reading)
            assert number in reading["summary"] and f.g["name"] in reading["summary"] and UNIT["unit_name"] in reading["summary"]
        accepted.append(resp.json["upload"]["id"])
        statuses.append(reading["status_text"])
    row = sql("SELECT reading_status, reading FROM uploads WHERE id=%s", (accepted[1],))[0]
    stored = json.loads(row["reading"])
    assert row["reading_status"] == "matched" and stored["record_id"] == rid and stored["qr"]
    assert {c["field"]: c["ok"] for c in stored["checks"]}["qr"]

    other_first, other_signature = await stamped_pages(f, other_rid, f.other_client)
    token = sql("SELECT verify_token FROM agreement_documents WHERE record_id=%s", (rid,))[0]["verify_token"]
    wrong_person = photos.stamp(photos.pages(photos.agreement(
        number, "司马青云", UNIT["unit_name"], UNIT["credit_code"], f"http://127.0.0.1/verify/{token}")))[0]
    refused = {
        "photo_qr_other_agreement": photos.photograph(other_signature, angle=-3),
        "photo_number_mismatch": photos.photograph(other_first, angle=2),
        "photo_name_mismatch": photos.photograph(wrong_person, angle=1),
        "photo_qr_unreadable": photos.photograph(photos.cover_qr(signature), angle=-2),
        "photo_unreadable": corpus.sharp_stamped_jpeg(),  # a stamped page, but not of an agreement of ours
    }
    before, files_before = sql("SELECT COUNT(*) n FROM uploads")[0]["n"], stored_files(config)
    for code, content in refused.items():
        resp = await upload(f.G, content, rid)
        assert resp.status == 422 and resp.error == code, (code, resp)
    assert sql("SELECT COUNT(*) n FROM uploads")[0]["n"] == before  # nothing stored
    assert stored_files(config) == files_before  # the check process saved each photo; its refusal removed it
    assert (await upload(f.G, genuine["first page"], other_rid)).error == "photo_record_invalid"  # not hers

    # attached to the record, the readings show on the audit view beside each photo
    assert (await f.act(f.G, rid, "upload_stamped", upload_ids=accepted[:2])).status == 200
    audit = (await f.S.get(f"/api/school/records/{rid}/audit")).json["record"]
    shown = {u["id"]: u["reading"] for u in audit["uploads"]}
    assert [shown[i]["status_text"] for i in accepted[:2]] == statuses[:2]  # as judged when uploaded
    assert statuses[1] == "与协议一致" and {c["field"] for c in shown[accepted[0]]["checks"]} >= {"graduate_name"}
    page = (await f.S.get(f"/admin/records/{rid}")).body.decode()
    assert page.count("照片识别") == 2 and f"/api/uploads/{accepted[0]}" in page and number in page


@pytest.mark.gen_test(timeout=120)
async def test_the_unit_uploading_through_the_sms_link_is_told_what_matched_or_what_did_not(world, client, sql):
    f, rid, other_rid = await two_agreements(world, client, sql)
    _, signature = await stamped_pages(f, rid)
    _, other_signature = await stamped_pages(f, other_rid, f.other_client)
    token = await request_link(f, rid)
    unit = client()
    await unit.get(f"/e/{token}")
    wrong = await post_photo(unit, token, photos.photograph(other_signature))
    assert wrong.status == 422 and "照片中的二维码属于另一份协议" in wrong.body.decode()
    assert f.state(rid)["state"] == "agreement_approved"
    done = await post_photo(unit, token, photos.photograph(signature, angle=-2))
    html = done.body.decode()
    number = sql("SELECT agreement_number FROM records WHERE id=%s", (rid,))[0]["agreement_number"]
    assert done.status == 200 and "回传成功" in html and number in html and UNIT["unit_name"] in html
    assert f.state(rid)["state"] == "signing_audit"
    assert sql("SELECT reading_status FROM uploads WHERE record_id=%s", (rid,)) == [{"reading_status": "matched"}]


@pytest.mark.gen_test(timeout=120)
async def test_a_paper_agreement_is_compared_with_the_registration_and_differences_shown_not_refused(
        world, client, sql):
    f = await Flow(world, client, sql).setup()
    # printed elsewhere: no QR of ours; the credit code on paper is not the registered one
    paper = photos.stamp(photos.pages(photos.agreement(
        "BJ2026-0415", f.g["name"], UNIT["unit_name"], "91110108MA01C7XK3P", None)))[0]
    resp = await upload(f.G, photos.photograph(paper, angle=2), None, kind="paper-agreement")
    assert resp.status == 201, resp
    assert resp.json["upload"]["reading"]["status"] is None  # compared once the registration exists
    created = await f.new("paper", uploads=[resp.json["upload"]["id"]])
    assert created.status == 201, created
    audit = (await f.S.get(f"/api/school/records/{created.json['record']['id']}/audit")).json["record"]
    reading = audit["uploads"][0]["reading"]
    assert reading["status"] == "differences" and reading["status_text"] == "与登记信息不一致"
    checks = {c["field"]: c for c in reading["checks"]}
    assert checks["graduate_name"]["ok"] and checks["unit_name"]["ok"]
    assert not checks["credit_code"]["ok"] and checks["credit_code"]["expected"] == UNIT["credit_code"]
    assert checks["credit_code"]["found"] and "MA01C7" in checks["credit_code"]["found"]
    page = (await f.S.get(f"/admin/records/{created.json['record']['id']}")).body.decode()
    assert "与登记信息不一致" in page and 'class="diff"' in page


@pytest.mark.gen_test(timeout=120)
async def test_a_photo_not_read_within_the_budget_is_kept_to_be_checked(world, client, sql, monkeypatch):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    _, signature = await stamped_pages(f, rid)
    monkeypatch.setattr(recognition, "BUDGET_SECONDS", 0.001)
    resp = await upload(f.G, photos.photograph(signature), rid)
    assert resp.status == 201 and resp.json["upload"]["reading"]["status"] == "to_check", resp
    assert "人工核对" in resp.json["upload"]["reading"]["summary"]
    row = sql("SELECT reading_status, storage_name FROM uploads WHERE id=%s", (resp.json["upload"]["id"],))[0]
    assert row["reading_status"] == "to_check" and row["storage_name"]


@pytest.mark.gen_test(timeout=120)
async def test_check_image_with_a_record_prints_what_was_read_and_matched(world, client, sql, config, tmp_path):
    f, rid, other_rid = await two_agreements(world, client, sql)
    _, signature = await stamped_pages(f, rid)
    _, other_signature = await stamped_pages(f, other_rid, f.other_client)
    (tmp_path / "mine.jpg").write_bytes(photos.photograph(signature))
    (tmp_path / "other.jpg").write_bytes(photos.photograph(other_signature))
    out = run_command(config, "check-image", "stamped-agreement", "--record", str(rid),
                      str(tmp_path / "mine.jpg"), str(tmp_path / "other.jpg"))
    assert out.returncode == 1, out.stderr
    mine, other = out.stdout.split(str(tmp_path / "other.jpg"))
    assert "accepted: 与协议一致" in mine and "二维码: matched" in mine and "/verify/" in mine
    assert "photo_qr_other_agreement 照片中的二维码属于另一份协议" in other and "二维码: DIFFERENT" in other


def test_numbers_compare_exactly_and_personal_numbers_are_masked():
    number = "WQ20261000100000012"
    assert recognition.same_number("WQ2026100010000OO12", number)  # O read for 0
    assert recognition.same_number("IQ20261000100000012", number)  # the prefix misread
    assert recognition.same_number("WQ20261000100000013", number) is False  # another agreement
    assert recognition.same_number("WQ20251000100000012", number) is False  # last year's
    assert recognition.same_number("WQ2026100010000012", number) is None  # a zero merged: not read, not a match
    assert recognition.same_number("WQ2026100", number) is None
    line = recognition.redact("身份证号110105199001011234 手机13800138000 编号WQ20261000100000012")
    assert line == "身份证号1101**********1234 手机138****8000 编号WQ20261000100000012"


def test_a_value_is_taken_only_once_the_box_nearest_its_label_is_read():
    """While the page is read batch by batch, a box found but not read yet (None) keeps its place: 姓名's value is
    not taken from 性别's 男 further right just because the name's own box was not read yet."""
    from documents.recognition import field_read
    places = [[100, 300, 20], [220, 300, 20], [500, 300, 20], [620, 300, 20]]  # x, y, height: one row
    assert field_read(["姓名", None, "性别", "男"], "graduate_name", places) is None
    assert field_read(["姓名", "李䶮", "性别", "男"], "graduate_name", places) == "李䶮"


def test_another_label_of_the_grid_is_never_a_fields_value():
    """The name's box not found: 姓名's nearest neighbour on its row is the label 性别. It is not taken as the name,
    so a photo of the right agreement (its number read) is matched, not refused as showing another name."""
    from documents.recognition import MATCHED, field_read, match
    places = [[100, 300, 20], [500, 300, 20], [620, 300, 20]]  # 姓名, 性别, 男: one row, the name's box missing
    assert field_read(["姓名", "性别", "男"], "graduate_name", places) is None
    assert field_read(["姓名：", "性 别"], "graduate_name") is None  # the next line, without places
    assert field_read(["统一社会信用代码", "单位性质", "民营企业"], "credit_code",
                      [[100, 300, 20], [520, 300, 20], [640, 300, 20]]) is None
    facts = {"record_id": 1, "verify_token": "t" * 32, "agreement_number": "WQ20261000100000012",
             "graduate_name": "李䶮"}
    reading = {"qr": [], "lines": ["协议编号：WQ20261000100000012", "姓名", "性别", "男"],
               "places": [[100, 100, 20], *places]}
    status, code, checks = match(reading, facts)
    assert (status, code) == (MATCHED, None)
    assert [c["field"] for c in checks] == ["agreement_number"]


def test_the_readers_grid_labels_are_the_labels_the_agreement_pdf_draws(monkeypatch):
    import documents.pdf as pdf
    from documents.recognition import GRID_LABELS
    from tests.test_agreement_pdf import agreement
    drawn = set()
    grid = pdf._grid

    def spy(page, rows):
        drawn.update(label for row in rows for label in row[0::2] if label)
        return grid(page, rows)
    monkeypatch.setattr(pdf, "_grid", spy)
    for kind in ("three_party", "two_party"):
        pdf.render_agreement_pdf(agreement(kind))
    assert drawn == GRID_LABELS
