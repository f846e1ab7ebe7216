"""The agreement PDF of approved agreements (rendered by the job, or on demand), who may download it, and the
public verification page its QR code opens."""
from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader

from documents.agreements import AgreementDocumentJob, agreement_input, agreement_status
from signing.personal import mask_name
from tests.flows import CANCEL, REJECT, UNIT, Flow
from tests.test_uploads import accepted_upload


async def run_document_job(app) -> None:
    job = AgreementDocumentJob(app)
    while await job.run_once():
        pass


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


async def approved_offline(f) -> dict:
    rid = (await f.new("offline")).json["record"]["id"]
    record = (await f.act(f.S, rid, "pass")).json["record"]
    assert record["state"] == "agreement_approved"
    return record


def document(sql, rid) -> dict | None:
    rows = sql("SELECT * FROM agreement_documents WHERE record_id=%s", (rid,))
    return rows[0] if rows else None


@pytest.mark.gen_test
async def test_offline_approval_queues_the_pdf_and_the_job_renders_it(world, client, sql, app):
    f = await Flow(world, client, sql).setup(graduates=2)
    record = await approved_offline(f)
    rid, number = record["id"], record["agreement_number"]
    assert [json.loads(o["payload"]) for o in f.outbox(rid, "document")] == [{"record_id": rid}]
    await run_document_job(app)
    doc = document(sql, rid)
    assert doc["agreement_number"] == number and len(doc["verify_token"]) >= 32
    assert sql("SELECT status FROM outbox WHERE record_id=%s AND topic='document'", (rid,))[0]["status"] == "done"

    for reader in (f.G, f.S, f.D):
        resp = await reader.get(f"/api/records/{rid}/agreement.pdf")
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
        assert resp.body.startswith(b"%PDF")
    text = pdf_text(resp.body)
    for expected in (number, UNIT["unit_name"], f.g["name"], "其他企业", "工程技术人员", "李老师", "（三方协议）"):
        assert expected in text, expected
    assert f"/verify/{doc['verify_token']}" in text.replace("\n", "")
    assert document(sql, rid)["storage_name"] == doc["storage_name"]  # served, not rendered again

    other_school = await world.school()
    province = await f.login(await world.user("province", province_code=f.school["province"]))
    outsiders = (await f.login(f.graduates[1]["username"]), f.E, province,
                 await f.login(await world.user("school", school_id=other_school["id"])))
    for outsider in outsiders:
        assert (await outsider.get(f"/api/records/{rid}/agreement.pdf")).status == 404


@pytest.mark.gen_test
async def test_online_signing_pdf_reaches_the_employer_party(world, client, sql, app):
    f = await Flow(world, client, sql).setup()
    rid = (await f.invite()).json["record"]["id"]
    await f.act(f.G, rid, "accept")
    assert (await f.G.get(f"/api/records/{rid}/agreement.pdf")).status == 404  # not approved yet
    number = (await f.act(f.S, rid, "pass")).json["record"]["agreement_number"]
    assert len(f.outbox(rid, "document")) == 1
    await run_document_job(app)
    resp = await f.E.get(f"/api/records/{rid}/agreement.pdf")
    assert resp.status == 200 and number in pdf_text(resp.body)
    other_employer = await f.login((await world.employer())["username"])
    assert (await other_employer.get(f"/api/records/{rid}/agreement.pdf")).status == 404


@pytest.mark.gen_test
async def test_pdf_is_rendered_on_demand_before_the_job_runs(world, client, sql, app):
    f = await Flow(world, client, sql).setup()
    rid = (await approved_offline(f))["id"]
    assert document(sql, rid) is None
    resp = await f.G.get(f"/api/records/{rid}/agreement.pdf")
    assert resp.status == 200 and resp.body.startswith(b"%PDF")
    rendered = document(sql, rid)
    await run_document_job(app)
    assert document(sql, rid) == rendered  # the job found it done


@pytest.mark.gen_test
async def test_records_without_an_approved_agreement_have_no_pdf(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    resp = await f.G.get(f"/api/records/{rid}/agreement.pdf")
    assert resp.status == 404 and resp.error == "not_found"
    await f.act(f.S, rid, "reject", **REJECT)
    destination = (await f.new("destination", data={"type_code": "70", "fields": {}})).json["record"]["id"]
    assert (await f.G.get(f"/api/records/{destination}/agreement.pdf")).status == 404
    assert not f.outbox(rid, "document")


@pytest.mark.gen_test
async def test_verification_page_shows_validity_then_cancellation(world, client, sql, app):
    f = await Flow(world, client, sql).setup()
    record = await approved_offline(f)
    rid = record["id"]
    await run_document_job(app)
    url = f"/verify/{document(sql, rid)['verify_token']}"
    anonymous = client()
    page = (await anonymous.get(url)).body.decode()
    assert "有效" in page and record["agreement_number"] in page and UNIT["unit_name"] in page
    assert mask_name(f.g["name"]) in page and f.g["name"] not in page
    assert f.g["id_number"][-4:] not in page and f.g["phone"][-4:] not in page  # no ID or phone, not even masked

    stamped = await accepted_upload(f.G)
    await f.act(f.G, rid, "upload_stamped", upload_ids=[stamped])
    assert (await f.act(f.S, rid, "pass")).json["record"]["state"] == "signed"
    assert "有效" in (await anonymous.get(url)).body.decode()
    letter = await accepted_upload(f.G, kind="cancellation-letter")
    await f.act(f.G, rid, "apply_cancel", upload_ids=[letter], **CANCEL)
    assert (await f.act(f.S, rid, "pass")).json["record"]["state"] == "cancelled"
    page = (await anonymous.get(url)).body.decode()
    assert "已解约" in page and "有效" not in page


@pytest.mark.gen_test
async def test_unknown_verification_token_is_a_404_page(client):
    resp = await client().get("/verify/not-a-real-token-0123456789")
    assert resp.status == 404 and "text/html" in resp.headers["Content-Type"]
    assert "未找到该就业协议" in resp.body.decode()


def test_agreement_status_texts():
    assert agreement_status("signing_returned") == ("valid", "有效")
    assert agreement_status("cancel_audit") == ("valid", "有效")
    assert agreement_status("cancelled") == ("cancelled", "已解约")
    assert agreement_status("signing_void") == ("void", "已作废")


def test_agreement_input_names_the_codes_and_keeps_the_party_data():
    row = {"agreement_type": "two_party", "agreement_number": "WQ1", "data": UNIT, "name": "张三", "gender": "男",
           "id_masked": "1101**********002X", "school_name": "测试大学", "department": "计算机学院", "major": "软件工程",
           "level": "本科", "student_number": "20220001", "phone_masked": "139****5678", "school_address": "地址",
           "school_postcode": "100000", "school_phone": "010-1", "handler": {"name": "李老师"}}
    a = agreement_input(row, "https://example.edu.cn/verify/t")
    assert a["unit"]["nature"] == "其他企业" and a["unit"]["industry"] == "信息传输、软件和信息技术服务业"
    assert a["position"]["job_category"] == "工程技术人员" and a["takes_hukou"] is True
    assert a["graduate"]["id_number_masked"] == "1101**********002X" and a["handler"]["name"] == "李老师"
    assert a["verify_url"].endswith("/verify/t") and a["supplementary_terms"] == UNIT["supplementary_terms"]


@pytest.mark.gen_test
async def test_salary_and_report_date_reach_the_agreement_and_it_opens_inline(world, client, sql, app):
    f = await Flow(world, client, sql).setup()
    terms = {**UNIT, "salary": "月薪8000元，五险一金", "report_date": "2027-07-01"}
    rid = (await f.new("offline", data=terms)).json["record"]["id"]
    assert (await f.act(f.S, rid, "pass")).status == 200
    resp = await f.G.get(f"/api/records/{rid}/agreement.pdf")
    assert resp.headers["Content-Disposition"].startswith("inline;")  # WeChat's webview shows it
    text = pdf_text(resp.body)
    assert "月薪8000元，五险一金" in text and "2027年7月1日" in text
    bad = await f.new("offline", action="save", data={**UNIT, "report_date": "2027-13-01"})
    assert bad.status == 400 and bad.error == "invalid_record_data"
