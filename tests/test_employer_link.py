"""用人单位协助回传: the graduate asks for an SMS link; the unit opens it without an account, downloads the
agreement and uploads the stamped copy, which moves the record to the signing audit."""
from __future__ import annotations

import json
import uuid

import pytest

from handlers.employer_link import EmployerLinkUpload
from signing.personal import mask_name
from tests import agreement_photos as photos
from tests import image_corpus as corpus
from tests.flows import REJECT, UNIT, Flow
from tests.test_uploads import accepted_upload, raw_post


async def approved_offline(f) -> int:
    rid = (await f.new("offline")).json["record"]["id"]
    assert (await f.act(f.S, rid, "pass")).json["record"]["state"] == "agreement_approved"
    return rid


async def request_link(f, rid: int) -> str:
    """Asks for a link as the graduate; returns the token the SMS carries."""
    resp = await f.G.post(f"/api/records/{rid}/employer-link")
    assert resp.status == 201, resp
    sms = json.loads(f.outbox(rid, "notify")[-1]["payload"])
    return sms["link"].removeprefix("/e/")


async def post_photo(c, token: str, content: bytes, with_xsrf: bool = True):
    return await post_photos(c, token, [content], with_xsrf)


async def post_photos(c, token: str, contents: list[bytes], with_xsrf: bool = True):
    """The link page's form as a browser posts it: multipart, one file per page, _xsrf as a form field."""
    boundary = uuid.uuid4().hex
    fields = f'--{boundary}\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\n{c.cookies["_xsrf"]}\r\n' \
        if with_xsrf else ""
    body = fields.encode() + b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="page{i}.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n" for i, content in enumerate(contents, 1)
    ) + f"--{boundary}--\r\n".encode()
    return await c.request("POST", f"/e/{token}/upload", body=body, xsrf=False,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.gen_test
async def test_request_writes_the_sms_and_the_page_shows_the_agreement(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    resp = await f.G.post(f"/api/records/{rid}/employer-link")
    assert resp.status == 201 and resp.json["link"]["phone_masked"] == "138****8000"
    row = sql("SELECT * FROM outbox WHERE record_id=%s AND topic='notify' ORDER BY id DESC LIMIT 1", (rid,))[0]
    sms = json.loads(row["payload"])
    token = sms["link"].removeprefix("/e/")
    assert row["idempotency_key"] == f"employer_link:{resp.json['link']['id']}" and row["graduate_id"] == f.g["id"]
    assert {k: v for k, v in sms.items() if k not in ("link", "expires_at")} == {
        "template": "employer_link", "record_id": rid, "event_id": None, "graduate_id": f.g["id"],
        "unit_name": UNIT["unit_name"], "phone_field": "contact_mobile", "sms_only": True}
    assert len(token) == 32 and token not in json.dumps(resp.json)  # 192 random bits; only the unit gets it
    assert sql("SELECT token_hash FROM employer_links WHERE record_id=%s", (rid,))[0]["token_hash"] != token

    unit = client()
    page = await unit.get(f"/e/{token}")
    html = page.body.decode()
    assert page.status == 200
    number = sql("SELECT agreement_number FROM records WHERE id=%s", (rid,))[0]["agreement_number"]
    for expected in (UNIT["unit_name"], mask_name(f.g["name"]), number, f"/e/{token}/upload", 'name="_xsrf"'):
        assert expected in html, expected
    assert f.g["name"] not in html
    pdf = await unit.get(f"/e/{token}/agreement.pdf")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")


@pytest.mark.gen_test
async def test_stamped_copy_uploaded_through_the_link_goes_to_the_signing_audit(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    unit = client()
    await unit.get(f"/e/{token}")
    no_xsrf = await post_photo(unit, token, corpus.sharp_stamped_jpeg(), with_xsrf=False)
    assert no_xsrf.status == 403 and "页面已过期" in no_xsrf.body.decode()
    # the stamped copy must be a photo of this agreement (tests/test_photo_recognition.py): its PDF, photographed
    pdf = (await unit.get(f"/e/{token}/agreement.pdf")).body
    done = await post_photo(unit, token, photos.stamped_copy(pdf))
    assert done.status == 200 and "回传成功" in done.body.decode()

    assert f.state(rid) == {"state": "signing_audit", "audit_stage": "school"}
    event = sql("SELECT role, actor_name, user_id FROM record_events WHERE record_id=%s ORDER BY id DESC LIMIT 1",
                (rid,))[0]
    assert event == {"role": "employer_link", "actor_name": UNIT["unit_name"] + "（短信链接）", "user_id": None}
    upload = sql("SELECT id, graduate_id, uploaded_by, record_id, kind FROM uploads WHERE record_id=%s", (rid,))[0]
    assert (upload["graduate_id"], upload["uploaded_by"], upload["kind"]) == (f.g["id"], None, "stamped-agreement")
    notice = sql("SELECT idempotency_key, payload FROM outbox WHERE record_id=%s AND topic='notify'"
                 " ORDER BY id DESC LIMIT 1", (rid,))[0]
    payload = json.loads(notice["payload"])
    assert notice["idempotency_key"] == f"notify:{payload['event_id']}"
    assert payload["template"] == "employer_uploaded" and payload["state"] == "signing_audit"
    assert (await f.G.get(f"/api/uploads/{upload['id']}")).status == 200  # the graduate sees what the unit sent
    used = await unit.get(f"/e/{token}")
    assert used.status == 410 and "已通过此链接回传" in used.body.decode()


@pytest.mark.gen_test
async def test_a_dark_photo_is_refused_on_the_page_with_the_checks_message(world, client, sql, http_port):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    unit = client()
    await unit.get(f"/e/{token}")
    refused = await post_photo(unit, token, corpus.dark())
    html = refused.body.decode()
    assert refused.status == 422 and "照片太暗，请在光线充足的地方重新拍摄" in html and f"/e/{token}/upload" in html
    answer, _ = await raw_post(http_port, f"/e/{token}/upload", {
        "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(EmployerLinkUpload.body_limit + 1)})
    assert answer.startswith(b"HTTP/1.1 413") and "照片文件太大".encode() in answer
    assert f.state(rid)["state"] == "agreement_approved"
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0


@pytest.mark.gen_test(timeout=120)
async def test_one_photo_per_page_with_the_seal_on_at_least_one_of_them(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    unit = client()
    await unit.get(f"/e/{token}")
    preview = await unit.get(f"/e/{token}/page-2.png")  # phones show no PDF inline: the pages as images
    assert preview.status == 200 and preview.body.startswith(b"\x89PNG")
    assert (await unit.get(f"/e/{token}/page-3.png")).status == 404
    pages = photos.pages((await unit.get(f"/e/{token}/agreement.pdf")).body)
    unstamped = [photos.photograph(page) for page in pages]
    refused = await post_photos(unit, token, unstamped)
    assert refused.status == 422 and "所有照片中都未看到用人单位的红色公章" in refused.body.decode()
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0  # nothing kept
    done = await post_photos(unit, token, [unstamped[0], photos.photograph(photos.stamp(pages)[-1])])
    assert done.status == 200 and "2张照片" in done.body.decode()
    assert sql("SELECT COUNT(*) n FROM uploads WHERE record_id=%s", (rid,))[0]["n"] == 2
    assert f.state(rid)["state"] == "signing_audit"


@pytest.mark.gen_test
async def test_a_new_link_supersedes_the_old_one(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    first = await request_link(f, rid)
    second = await request_link(f, rid)
    old = await client().get(f"/e/{first}")
    assert old.status == 410 and "已重新发送链接" in old.body.decode()
    assert (await client().get(f"/e/{first}/agreement.pdf")).status == 410
    assert (await client().get(f"/e/{second}")).status == 200


@pytest.mark.gen_test
async def test_the_link_dies_when_the_record_leaves_the_step_and_lives_again_only_if_new(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    stamped = await accepted_upload(f.G)
    assert (await f.act(f.G, rid, "upload_stamped", upload_ids=[stamped])).status == 200  # the graduate did it
    closed = await client().get(f"/e/{token}")
    assert closed.status == 410 and "无需回传" in closed.body.decode()
    assert (await post_photo(client(), token, corpus.sharp_stamped_jpeg())).status == 410
    refused = await f.G.post(f"/api/records/{rid}/employer-link")
    assert refused.status == 409 and refused.error == "employer_link_not_allowed"
    await f.act(f.S, rid, "return", **REJECT)  # signing_returned: waiting for a stamped copy again
    assert (await client().get(f"/e/{await request_link(f, rid)}")).status == 200


@pytest.mark.gen_test
async def test_unknown_and_expired_links_are_refusal_pages(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    unknown = await client().get("/e/" + "x" * 43)
    assert unknown.status == 404 and "链接无效" in unknown.body.decode()
    sql("UPDATE employer_links SET expires_at=NOW() - INTERVAL 1 MINUTE WHERE record_id=%s", (rid,))
    expired = await client().get(f"/e/{token}")
    assert expired.status == 410 and "链接已过期" in expired.body.decode()


@pytest.mark.gen_test
async def test_requests_are_rate_limited_per_record_and_per_graduate(world, client, sql, app):
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    for _ in range(3):
        assert (await f.G.post(f"/api/records/{rid}/employer-link")).status == 201
    fourth = await f.G.post(f"/api/records/{rid}/employer-link")
    assert fourth.status == 429 and "每小时最多发送3次" in fourth.json["error"]["message"]
    assert [json.loads(o["payload"])["template"] for o in f.outbox(rid, "notify")].count("employer_link") == 3
    await app.redis.delete(f"employer_link:record:{rid}")
    await app.redis.set(f"employer_link:graduate:{f.g['id']}", 10, ex=3600)
    daily = await f.G.post(f"/api/records/{rid}/employer-link")
    assert daily.status == 429 and "每天最多发送10次" in daily.json["error"]["message"]


@pytest.mark.gen_test
async def test_only_the_graduate_may_ask_and_only_while_waiting_for_the_stamp(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=2)
    rid = (await f.new("offline")).json["record"]["id"]
    early = await f.G.post(f"/api/records/{rid}/employer-link")
    assert early.status == 409 and early.error == "employer_link_not_allowed"
    await f.act(f.S, rid, "pass")
    other = await f.login(f.graduates[1]["username"])
    assert (await other.post(f"/api/records/{rid}/employer-link")).status == 404
    assert (await f.S.post(f"/api/records/{rid}/employer-link")).status == 403
    assert not sql("SELECT id FROM employer_links WHERE record_id=%s", (rid,))
