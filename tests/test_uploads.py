"""Uploads through HTTP: the photo checks' answers, the streamed body limit, WeChat media ids, and who may see
a stored photo. The app talks to a WeChat emulator on a free port (tests/test_wechat_support.py)."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest

from documents import uploads as uploads_module
from handlers.uploads import UPLOAD_BODY_LIMIT
from tests import image_corpus as corpus
from tests import test_wechat_support as support
from tests.flows import REJECT, Flow
from tests.support import running_app

start_emulator, emulator = support.start_emulator, support.emulator


@pytest.fixture
def app(config, emulator, base_url, io_loop):
    yield from running_app(support.settings_for(config, emulator, base_url), io_loop)


async def upload_photo(c, content: bytes, kind: str = "stamped-agreement"):
    return await c.upload(f"/api/uploads?kind={kind}", "file", "photo.jpg", content, content_type="image/jpeg")


async def accepted_upload(c, content: bytes | None = None, kind: str = "stamped-agreement") -> int:
    resp = await upload_photo(c, content or corpus.sharp_stamped_jpeg(), kind)
    assert resp.status == 201, resp
    return resp.json["upload"]["id"]


async def raw_post(port: int, path: str, headers: dict, chunks=()) -> tuple[bytes, int]:
    """POST over a bare socket, sending the body chunk by chunk while watching for an early answer.
    Returns (the whole answer, body bytes sent before it came)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    writer.write((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
    first = asyncio.ensure_future(reader.read(65536))
    sent = 0
    try:
        for chunk in chunks:
            if first.done():
                break
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0.005)  # the server's turn
    except ConnectionError:
        pass
    answer = await asyncio.wait_for(first, 10)
    try:
        while more := await asyncio.wait_for(reader.read(65536), 10):
            answer += more
    except ConnectionError:
        pass
    writer.close()
    return answer, sent


def chunked(total: int, size: int = 256 * 1024):
    """A chunked transfer-encoded body of `total` bytes (no Content-Length: only counting can stop it)."""
    piece = b"\0" * size
    for _ in range(total // size):
        yield f"{size:x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def session_headers(c) -> dict:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in c.cookies.items()), "X-XSRFToken": c.cookies["_xsrf"]}


def stored_files(config) -> int:
    return sum(len(files) for _, _, files in os.walk(config.upload_dir))


def spooled(config) -> list[str]:
    """What upload bodies left in the spool folder (UPLOAD_SPOOL_DIR): nothing once their requests are over."""
    return os.listdir(config.upload_spool_dir)


async def spool_emptied(config, seconds: float = 10) -> list[str]:
    for _ in range(int(seconds / 0.05)):
        if not spooled(config):
            break
        await asyncio.sleep(0.05)
    return spooled(config)


@pytest.mark.gen_test
async def test_upload_accepted_stored_reencoded_and_served_to_owner(world, client, sql, config):
    f = await Flow(world, client, sql).setup()
    resp = await upload_photo(f.G, corpus.with_exif_gps_and_comment())
    assert resp.status == 201, resp
    upload = resp.json["upload"]
    assert upload["kind"] == "stamped-agreement" and upload["width"] == 1339 and upload["bytes"] > 0
    row = sql("SELECT * FROM uploads WHERE id=%s", (upload["id"],))[0]
    assert row["graduate_id"] == f.g["id"] and row["record_id"] is None and row["uploaded_by"] is not None
    served = await f.G.get(f"/api/uploads/{upload['id']}")
    assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.body.startswith(b"\xff\xd8") and hashlib.sha256(served.body).hexdigest() == row["sha256"]
    assert b"taken at home" not in served.body and b"PhoneMaker" not in served.body  # metadata dropped
    assert row["storage_name"] not in json.dumps(resp.json)


@pytest.mark.gen_test
@pytest.mark.parametrize("name,status,code", [
    ("text_renamed_jpg", 415, "image_not_image"),
    ("polyglot_html", 415, "image_polyglot"),
    ("dark", 422, "image_too_dark"),
    ("no_seal", 422, "image_no_seal"),
    ("blurred", 422, "image_blurred"),
    ("empty", 422, "image_empty"),
])
async def test_refused_photo_keeps_its_code_and_writes_nothing(world, client, sql, config, name, status, code):
    f = await Flow(world, client, sql).setup()
    files_before = stored_files(config)
    resp = await upload_photo(f.G, getattr(corpus, name)())
    assert resp.status == status and resp.error == code, resp
    assert "\u4e00" <= resp.json["error"]["message"][0] <= "\u9fff"  # a Chinese message
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0
    assert stored_files(config) == files_before
    assert await spool_emptied(config) == []


def form(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart body (boundary x) of (name, filename or None, content) parts."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += f"--x\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + b"--x--\r\n"


CUT_OFF_PHOTO = b'--x\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n\r\n' + b"\xff\xd8" * 4000


@pytest.mark.gen_test
@pytest.mark.parametrize("content_type, body, code", [
    ("multipart/form-data; boundary=x", b"a photo, they said", "upload_form_invalid"),
    ("multipart/form-data; boundary=x", CUT_OFF_PHOTO, "upload_form_invalid"),  # the body ends inside the photo
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; filename="p.jpg"\r\n\r\nxx\r\n'
                                        b"--x--\r\n", "upload_form_invalid"),  # a part without a name
    ("multipart/form-data", b"--x--\r\n", "upload_form_invalid"),  # no boundary
    ("text/plain", b"a photo?", "upload_form_invalid"),
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--x--\r\n',
     "upload_file_missing"),
    ("multipart/form-data; boundary=x", b"", "upload_file_missing"),
    ("multipart/form-data; boundary=x", form(*[("file", f"{i}.jpg", b"x") for i in range(9)]), "upload_form_invalid"),
    ("multipart/form-data; boundary=x", form(*[(f"f{i}", None, b"x") for i in range(33)]), "upload_form_invalid"),
    ("multipart/form-data; boundary=x", form(*[("other", f"{i}.jpg", b"x") for i in range(9)]), "upload_form_invalid"),
    ("multipart/form-data; boundary=x", form(("other", "a.jpg", b"x"), ("note", None, b"hi")), "upload_file_missing"),
])
async def test_a_body_that_is_no_photo_form_gets_its_code_and_leaves_nothing(world, client, sql, config,
                                                                             content_type, body, code):
    f = await Flow(world, client, sql).setup()
    files_before = stored_files(config)
    resp = await f.G.request("POST", "/api/uploads?kind=destination-proof", body=body,
                             headers={"Content-Type": content_type})
    assert resp.status == 400 and resp.error == code, resp
    assert "\u4e00" <= resp.json["error"]["message"][0] <= "\u9fff"
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0
    assert stored_files(config) == files_before and await spool_emptied(config) == []


@pytest.mark.gen_test
async def test_the_photo_streams_to_a_file_that_the_check_reads_and_that_goes_with_the_request(
        world, client, sql, config, monkeypatch):
    """The server never holds the photo: the check process is given the file the body streamed into."""
    f = await Flow(world, client, sql).setup()
    pool, given = uploads_module._check_pool(), []
    submit = pool.submit

    def spy(fn, kind, photo, *rest):
        given.append((photo, photo.read_bytes() if isinstance(photo, Path) else photo))
        return submit(fn, kind, photo, *rest)

    monkeypatch.setattr(pool, "submit", spy)
    photo = corpus.sharp_stamped_jpeg()
    assert (await upload_photo(f.G, photo)).status == 201
    [(path, content)] = given
    assert isinstance(path, Path) and path.parent.parent == Path(config.upload_spool_dir) and content == photo
    assert await spool_emptied(config) == [] and not path.exists()


@pytest.mark.gen_test(timeout=120)
async def test_thirty_parallel_uploads_each_get_their_own_file_and_leave_no_spool(world, client, sql, config):
    f = await Flow(world, client, sql).setup()
    files_before = stored_files(config)
    photos = [corpus.sharp_stamped_jpeg(), corpus.dark()] * 15  # accepted and refused, interleaved
    answers = await asyncio.gather(*(upload_photo(f.G, p) for p in photos))
    assert sorted(a.status for a in answers) == [201] * 15 + [422] * 15
    ids = [a.json["upload"]["id"] for a in answers if a.status == 201]
    names = sql("SELECT storage_name FROM uploads WHERE graduate_id=%s", (f.g["id"],))
    assert len(set(ids)) == 15 and len({n["storage_name"] for n in names}) == 15
    assert stored_files(config) == files_before + 15 and await spool_emptied(config) == []


@pytest.mark.gen_test
async def test_an_upload_that_cannot_be_spooled_is_ours_to_fix_503(world, client, sql, app, monkeypatch, tmp_path):
    f = await Flow(world, client, sql).setup()
    monkeypatch.setattr(app, "config", dataclasses.replace(app.config, upload_spool_dir=str(tmp_path / "gone")))
    resp = await upload_photo(f.G, corpus.sharp_stamped_jpeg())
    assert resp.status == 503 and resp.error == "upload_unavailable", resp
    assert "稍后" in resp.json["error"]["message"]
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_a_client_gone_half_way_through_the_body_leaves_no_file(world, client, sql, config, http_port):
    f = await Flow(world, client, sql).setup()
    head = ("POST /api/uploads?kind=destination-proof HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in session_headers(f.G).items())
            + "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 3000000\r\n\r\n")
    _, writer = await asyncio.open_connection("127.0.0.1", http_port)
    writer.write(head.encode() + CUT_OFF_PHOTO * 100)
    await writer.drain()
    for _ in range(100):  # until the server has the part on disk
        if spooled(config):
            break
        await asyncio.sleep(0.02)
    assert spooled(config), "the body was not spooled"
    writer.close()
    assert await spool_emptied(config) == []
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_declared_oversize_body_is_refused_before_it_is_sent(world, client, sql, http_port):
    f = await Flow(world, client, sql).setup()
    answer, _ = await raw_post(http_port, "/api/uploads?kind=stamped-agreement", {
        **session_headers(f.G), "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(UPLOAD_BODY_LIMIT + 1)})
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "image_too_large"


@pytest.mark.gen_test
async def test_streamed_oversize_body_is_refused_while_it_streams(world, client, sql, config, http_port):
    f = await Flow(world, client, sql).setup()
    total = UPLOAD_BODY_LIMIT + 6 * 1024 * 1024
    answer, sent = await raw_post(http_port, "/api/uploads?kind=stamped-agreement", {
        **session_headers(f.G), "Content-Type": "multipart/form-data; boundary=x",
        "Transfer-Encoding": "chunked"}, chunked(total))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    error = json.loads(body)["error"]
    assert error["code"] == "image_too_large" and "10MB" in error["message"]
    assert sent < total  # the answer came before the whole body was sent
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0
    assert await spool_emptied(config) == []


@pytest.mark.gen_test
async def test_upload_needs_a_graduate_session_xsrf_and_a_known_kind(world, client, sql):
    f = await Flow(world, client, sql).setup()
    photo = corpus.sharp_stamped_jpeg()
    assert (await upload_photo(client(), photo)).status == 401
    assert (await upload_photo(f.S, photo)).error == "forbidden"
    assert (await upload_photo(f.G, photo, kind="selfie")).error == "invalid_input"
    no_xsrf = await f.G.request("POST", "/api/uploads?kind=stamped-agreement", body=b"x", xsrf=False,
                                headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert no_xsrf.status == 403 and no_xsrf.error == "xsrf_failed"


@pytest.mark.gen_test
async def test_refused_upload_leaves_the_previous_accepted_one_in_place(world, client, sql):
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("offline")).json["record"]["id"]
    assert (await f.act(f.S, rid, "pass")).status == 200
    first = await accepted_upload(f.G)
    assert (await f.act(f.G, rid, "upload_stamped", upload_ids=[first])).status == 200
    assert (await f.act(f.S, rid, "return", **REJECT)).json["record"]["state"] == "signing_returned"
    refused = await upload_photo(f.G, corpus.dark())
    assert refused.status == 422 and refused.error == "image_too_dark"
    record = (await f.G.get(f"/api/records/{rid}")).json["record"]
    assert [u["id"] for u in record["uploads"]] == [first]
    assert (await f.G.get(f"/api/uploads/{first}")).status == 200
    second = await accepted_upload(f.G)
    assert (await f.act(f.G, rid, "upload_stamped", upload_ids=[second])).json["record"]["state"] == "signing_audit"


@pytest.mark.gen_test
async def test_wechat_media_upload_checks_the_downloaded_photo(world, client, sql, emulator):
    f = await Flow(world, client, sql).setup()
    good = await emulator.request("POST", "_control/media", corpus.sharp_stamped_jpeg(),
                                  headers={"Content-Type": "image/jpeg"})
    media_id = json.loads(good.body)["media_id"]
    resp = await f.G.post("/api/uploads/wechat", {"kind": "stamped-agreement", "media_id": media_id})
    assert resp.status == 201, resp
    assert sql("SELECT graduate_id FROM uploads WHERE id=%s", (resp.json["upload"]["id"],))[0]["graduate_id"] == f.g["id"]
    dark = await emulator.request("POST", "_control/media", corpus.dark(), headers={"Content-Type": "image/jpeg"})
    refused = await f.G.post("/api/uploads/wechat", {"kind": "stamped-agreement",
                                                     "media_id": json.loads(dark.body)["media_id"]})
    assert refused.status == 422 and refused.error == "image_too_dark"
    unknown = await f.G.post("/api/uploads/wechat", {"kind": "stamped-agreement", "media_id": "no-such-media"})
    assert unknown.status == 400 and unknown.error == "wechat_media_invalid"
    assert "重新选择" in unknown.json["error"]["message"]


@pytest.mark.gen_test
async def test_stored_photo_is_served_only_to_those_entitled(world, client, sql):
    f = await Flow(world, client, sql).setup(graduates=2)
    other_graduate = await f.login(f.graduates[1]["username"])
    other_school = await world.school()
    other_staff = await f.login(await world.user("school", school_id=other_school["id"]))
    loose = await accepted_upload(f.G)
    assert (await f.G.get(f"/api/uploads/{loose}")).status == 200
    for outsider in (other_graduate, f.S, other_staff, f.E):
        assert (await outsider.get(f"/api/uploads/{loose}")).status == 404  # not on a record yet: the owner's alone
    rid = (await f.invite()).json["record"]["id"]
    attached = await accepted_upload(f.G)
    assert (await f.act(f.G, rid, "accept", upload_ids=[attached])).status == 200
    for entitled in (f.G, f.S, f.D, f.E):
        assert (await entitled.get(f"/api/uploads/{attached}")).status == 200
    other_employer = await f.login((await world.employer())["username"])
    for outsider in (other_graduate, other_staff, other_employer):
        resp = await outsider.get(f"/api/uploads/{attached}")
        assert resp.status == 404 and resp.error == "not_found"
    assert (await f.G.get("/api/uploads/999999999")).status == 404


def test_photo_work_runs_in_processes_below_the_servers_priority():
    """The check and reading pools yield the cores to the server's requests (documents/pools.py)."""
    from documents.pools import BACKGROUND_NICENESS, background_pool
    pool = background_pool(1)
    try:
        assert pool.submit(os.nice, 0).result(60) == min(19, os.nice(0) + BACKGROUND_NICENESS)
        assert os.getpid() != pool.submit(os.getpid).result(60)
    finally:
        pool.shutdown()
