"""Hardening: the findings of the security review (issue 9), each with its regression test over real HTTP."""
from __future__ import annotations

import asyncio
import json

import pytest

from tests.support import PASSWORD, Client
from tests.test_uploads import raw_post

MiB = 1024 * 1024


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


async def _send_large(port: int, path: str, total: int, declared: bool) -> bytes:
    """POSTs `total` bytes in 64 KiB pieces, declared or chunked, stopping as soon as an answer comes (the body
    is sent piece by piece so that a server that refuses early has read all that was sent: no reset)."""
    piece = 64 * 1024
    headers = {"Content-Type": "application/json", "X-XSRFToken": "x", "Cookie": "_xsrf=x", "Connection": "close"}
    headers.update({"Content-Length": str(total)} if declared else {"Transfer-Encoding": "chunked"})
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    writer.write((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
    answer = asyncio.ensure_future(reader.read())
    await asyncio.wait([answer], timeout=0.3)
    data = b"{" + b" " * (piece - 1)
    framed = data if declared else f"{piece:x}\r\n".encode() + data + b"\r\n"
    try:
        for _ in range(total // piece):
            if answer.done():
                break
            writer.write(framed)
            await writer.drain()
            await asyncio.sleep(0.002)
        else:
            if not declared:
                writer.write(b"0\r\n\r\n")
    except ConnectionError:
        pass
    try:
        return await asyncio.wait_for(answer, 30)
    finally:
        writer.close()


@pytest.mark.gen_test(timeout=120)
async def test_large_json_bodies_are_refused_without_holding_them(http_server, http_port):
    """Six anonymous 60 MB bodies (declared and chunked) to /api/login: each a 413, peak memory barely moves."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets the peak (VmHWM) to the current RSS
    before = _rss_kib("VmRSS")
    for declared in (True, False, True, False, True, False):
        answer = await _send_large(http_port, "/api/login", 60 * MiB, declared)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert json.loads(body)["error"]["code"] == "body_too_large"
    growth_mib = (_rss_kib("VmHWM") - before) / 1024
    print(f"six 60 MB bodies: peak RSS grew {growth_mib:.1f} MiB")
    assert growth_mib < 30, f"peak RSS grew {growth_mib:.0f} MiB"


@pytest.mark.gen_test
async def test_chunked_json_body_over_the_limit_is_refused(http_server, http_port):
    """A chunked body has no Content-Length: it is counted as it arrives (a 1 MB chunked draft was stored,
    a 40 MB one gave a 500)."""
    for total in (MiB, 40 * MiB):
        answer = await _send_large(http_port, "/api/login", total, declared=False)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert json.loads(body)["error"]["code"] == "body_too_large"


@pytest.mark.gen_test
async def test_small_chunked_json_body_is_read(world, client, http_port):
    school = await world.school()
    username = await world.user("school", school_id=school["id"])
    body = json.dumps({"username": username, "password": "wrong-pass1"}).encode()
    answer, _ = await raw_post(http_port, "/api/login", {
        "Content-Type": "application/json", "X-XSRFToken": "x", "Cookie": "_xsrf=x",
        "Transfer-Encoding": "chunked", "Connection": "close"}, [f"{len(body):x}\r\n".encode() + body + b"\r\n", b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def parallel_client(base_url: str):
    """A client that really sends many requests at once (the shared test client queues beyond 10)."""
    from tornado.simple_httpclient import SimpleAsyncHTTPClient
    return Client(SimpleAsyncHTTPClient(force_instance=True, max_clients=100), base_url)


@pytest.mark.gen_test(timeout=120)
async def test_parallel_wrong_passwords_are_checked_at_most_five_times(world, http_server, base_url):
    """Finding 1: 40 parallel wrong passwords were all checked. Each attempt takes its slot before the check."""
    username = await world.user("ministry")
    c = parallel_client(base_url)
    answers = await asyncio.gather(*[c.post("/api/login", {"username": username, "password": f"wrong{i}x"})
                                     for i in range(40)])
    assert sorted(a.status for a in answers) == [401] * 4 + [429] * 36
    assert {a.error for a in answers if a.status == 429} == {"account_locked"}
    right = await c.post("/api/login", {"username": username, "password": PASSWORD})
    assert right.status == 429 and right.error == "account_locked"


@pytest.mark.gen_test(timeout=120)
async def test_right_password_among_parallel_wrong_ones_does_not_get_in(world, http_server, base_url):
    """Finding 1: 59 wrong and 1 right in parallel from one address, the right one got 200."""
    username = await world.user("ministry")
    c = parallel_client(base_url)

    async def right_one():
        await asyncio.sleep(0.05)  # sent while the wrong ones are still being checked
        return await c.post("/api/login", {"username": username, "password": PASSWORD})
    *wrong, right = await asyncio.gather(*[c.post("/api/login", {"username": username, "password": f"bad{i}x1"})
                                           for i in range(59)], right_one())
    assert [a.status for a in wrong].count(401) == 4
    assert right.status == 429 and right.error == "account_locked"
    assert (await c.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_lock_holds_for_the_account_whatever_identifier_is_typed(world, client):
    """Finding 4: after a lock by username, the ID number or phone still logged in."""
    school = await world.school()
    [g] = await world.graduates(school)
    c = client()
    for _ in range(5):
        assert (await c.post("/api/login", {"username": g["username"], "password": "nope12345"})).status in (401, 429)
    for identifier in (g["id_number"], g["phone"], g["username"]):
        resp = await c.post("/api/login", {"username": identifier, "password": PASSWORD})
        assert resp.status == 429 and resp.error == "account_locked", identifier


@pytest.mark.gen_test
async def test_rotating_identifiers_gives_five_guesses_not_more(world, client):
    """Finding 4: rotating username, ID number and phone gave 12 guesses where the README promises 5."""
    school = await world.school()
    [g] = await world.graduates(school)
    c = client()
    statuses = []
    for identifier in [g["username"], g["id_number"], g["phone"]] * 4:
        statuses.append((await c.post("/api/login", {"username": identifier, "password": "nope12345"})).status)
    assert statuses == [401] * 4 + [429] * 8


@pytest.mark.gen_test
async def test_logout_ends_the_session_on_the_server(world, client):
    """Finding 9: the cookie kept working for a day after logout."""
    c = client()
    await c.login(await world.user("ministry"))
    stolen = dict(c.cookies)
    assert (await c.post("/api/logout")).status == 200
    replay = client()
    replay.cookies = stolen
    assert (await replay.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_password_change_ends_every_other_session_on_the_server(world, client):
    username = await world.user("ministry")
    first = client()
    await first.login(username)
    old_cookie = dict(first.cookies)
    resp = await first.post("/api/me/password", {"old_password": PASSWORD, "new_password": "newpass2026"})
    assert resp.status == 200 and (await first.get("/api/me")).status == 200
    replay = client()
    replay.cookies = old_cookie
    assert (await replay.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_session_expired_on_the_server_is_refused(world, client, app):
    c = client()
    await c.login(await world.user("ministry"))
    for key in [k async for k in app.redis.scan_iter("session:*")]:
        await app.redis.delete(key)  # what the day's expiry, or an administrator's revocation, does
    assert (await c.get("/api/me")).status == 401


ARCHIVE = {"receiver_type": "托管单位接收", "receiver_name": "北京市人才服务中心", "address": "北京市朝阳区某路1号",
           "postcode": "100020"}


async def registrations_school(world, client):
    from signing.actors import SYSTEM
    from signing.settings_service import update_province
    province = await world.province()
    await update_province(world.db, SYSTEM, province, {"module_archive": True, "module_hukou": True})
    return await world.school(province=province)


@pytest.mark.gen_test
async def test_level_limited_school_account_neither_reviews_nor_sees_the_other_level(world, client):
    """Finding 6: a 本专科-only account reviewed a 研究生's archive registration and saw their log entries."""
    school = await registrations_school(world, client)
    [master] = await world.graduates(school, level="硕士")
    gc = client()
    await gc.login(master["username"])
    reg = (await gc.request("PUT", "/api/graduate/registrations/archive",
                            json_body={"action": "submit", "data": ARCHIVE})).json["registration"]
    rw = {"employment": "read_write", "archive": "read_write"}
    undergrad = client()
    await undergrad.login(await world.user("school", school_id=school["id"], permissions=rw,
                                           level_scope="undergraduate"))
    review = await undergrad.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve"})
    assert review.status == 404 and review.error == "not_found"
    assert (await undergrad.get("/api/school/registrations?module=archive")).json["items"] == []
    log = (await undergrad.get("/api/operations")).json["items"]
    assert not [e for e in log if e["target_type"] == "registration"]
    postgrad = client()
    await postgrad.login(await world.user("school", school_id=school["id"], permissions=rw, level_scope="postgraduate"))
    assert [e["target_id"] for e in (await postgrad.get("/api/operations")).json["items"]
            if e["target_type"] == "registration"] == [str(reg["id"])]
    ok = await postgrad.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve"})
    assert ok.status == 200, ok


@pytest.mark.gen_test
@pytest.mark.parametrize("certification", ["pending", "refused"])
async def test_uncertified_employer_cannot_search_graduates(world, client, certification):
    """Finding 7: an uncertified employer learnt a person's school, major and cohort from name + ID number."""
    school = await world.school()
    [g] = await world.graduates(school)
    employer = await world.employer(certification=certification)
    c = client()
    await c.login(employer["username"])
    resp = await c.post("/api/employer/graduate-search", {"name": g["name"], "id_number": g["id_number"]})
    assert resp.status == 403 and resp.error == "employer_not_certified"
    assert g["row"]["专业"] not in resp.body.decode() and "school_name" not in resp.body.decode()
    certified = client()
    await certified.login((await world.employer())["username"])
    found = await certified.post("/api/employer/graduate-search", {"name": g["name"], "id_number": g["id_number"]})
    assert found.status == 200 and found.json["graduate"]["major"] == g["row"]["专业"]


@pytest.mark.gen_test
@pytest.mark.parametrize("unit_name", ['=HYPERLINK("http://evil.example/","点我")', "+1+cmd", "-2+3", "@SUM(A1)",
                                       "\t=1+1", "\r=1+1"])
async def test_csv_export_neutralises_formulas(world, client, sql, unit_name):
    """Finding 8: a graduate-entered unit name =HYPERLINK(...) went unchanged into the CSV for Excel."""
    import csv
    import io

    from tests.flows import UNIT, Flow
    f = await Flow(world, client, sql).setup()
    created = await f.new("offline", data={**UNIT, "unit_name": unit_name})
    assert created.status == 201, created
    text = (await f.S.get("/api/school/records/export")).body.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["单位名称"] == "'" + unit_name.strip() or row["单位名称"] == "'" + unit_name
    assert not row["单位名称"].startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.gen_test
async def test_deeply_nested_json_is_a_400_not_a_500(client):
    """Finding 10: depth 1000 (2 KB) on anonymous /api/login raised an uncaught RecursionError."""
    c = client()
    body = b'{"username": ' + b"[" * 1000 + b"]" * 1000 + b', "password": "x"}'
    resp = await c.request("POST", "/api/login", body=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.error == "bad_json"
    deeper = b"[" * 100000 + b"]" * 100000  # 200 KB: over the body limit first
    assert (await c.request("POST", "/api/login", body=deeper)).status == 413


@pytest.fixture
def redis_down_port(config, io_loop):
    """The app, started while Redis answered, then with its Redis unreachable (nothing listens on port 1),
    served on its own port. (A process cannot start without Redis: server.app.Application.start.)"""
    import redis.asyncio as aioredis

    from tests.support import running_app, serving
    for application in running_app(config, io_loop):
        healthy, application.redis = application.redis, aioredis.from_url("redis://127.0.0.1:1/0", decode_responses=True)
        yield from serving(application, io_loop)
        io_loop.run_sync(application.redis.aclose)
        application.redis = healthy


@pytest.mark.gen_test
async def test_login_with_redis_down_is_503(http_client, redis_down_port):
    """Finding 11: Redis down made login answer 500."""
    c = Client(http_client, f"http://127.0.0.1:{redis_down_port}")
    resp = await c.post("/api/login", {"username": "someone", "password": "whatever1"})
    assert resp.status == 503 and resp.error == "service_unavailable", resp
    assert "服务暂时不可用" in resp.json["error"]["message"]
    page = await c.request("POST", "/admin/login", body=f"_xsrf={c.cookies['_xsrf']}&username=a&password=b1234567".encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, xsrf=False)
    assert page.status == 503 and "服务暂时不可用" in page.body.decode()


@pytest.mark.gen_test(timeout=120)
async def test_parallel_uploads_through_one_link_leave_only_the_accepted_one(world, client, sql, config):
    """Finding 12: 4 parallel uploads through one employer link, 1 accepted and 3 refused, wrote 4 files and rows."""
    import os
    import re

    from tests import agreement_photos as photos
    from tests.flows import Flow
    from tests.test_employer_link import approved_offline, post_photo, request_link

    def files() -> int:
        return sum(len(names) for _, _, names in os.walk(config.upload_dir))
    f = await Flow(world, client, sql).setup()
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    units = [client() for _ in range(4)]
    for unit in units:
        await unit.get(f"/e/{token}")
    # a photo of this agreement (a stranger photo is refused by its reading once the reading is fast enough)
    photo = photos.stamped_copy((await units[0].get(f"/e/{token}/agreement.pdf")).body)
    before = files()  # after the agreement's PDF, which is stored when first asked for
    answers = await asyncio.gather(*[post_photo(unit, token, photo) for unit in units])
    refusals = [re.findall(r'role="alert">([^<]*)<', a.body.decode()) for a in answers]
    assert sorted(a.status for a in answers)[0] == 200 and [a.status for a in answers].count(200) == 1, refusals
    assert sql("SELECT COUNT(*) n FROM uploads WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 1
    assert files() == before + 1


@pytest.mark.gen_test
async def test_settings_only_for_cohorts_that_exist(world, client, sql):
    """Finding 13: PATCH /api/school/settings?cohort=2000 created settings for any cohort."""
    school = await world.school()
    c = client()
    await c.login(await world.user("school", school_id=school["id"]))
    resp = await c.patch("/api/school/settings?cohort=2000", {"max_cancellations": 2})
    assert resp.status == 400 and resp.error == "cohort_unknown"
    handlers = await c.post("/api/school/settings/agreement-handlers?cohort=2001", {"mode": "unified", "all": {
        "name": "李老师", "phone": "010-62751111", "address": "北京市海淀区测试路1号", "postcode": "100000"}})
    assert handlers.status == 400 and handlers.error == "cohort_unknown"
    assert sql("SELECT COUNT(*) n FROM school_settings WHERE school_id=%s AND cohort IN (2000, 2001)",
               (school["id"],))[0]["n"] == 0
    current = await c.patch(f"/api/school/settings?cohort={school['cohort']}", {"max_cancellations": 2})
    assert current.status == 200, current
    past = dict(school, cohort=school["cohort"] - 3)
    await world.graduates(past, login=False)  # a past cohort on the roster has settings
    assert (await c.patch(f"/api/school/settings?cohort={past['cohort']}", {"max_cancellations": 1})).status == 200


@pytest.mark.gen_test
async def test_nul_character_is_refused_in_json_bodies(world, client, sql):
    """Finding 13: a NUL character was stored in record data."""
    from tests.flows import UNIT, Flow
    f = await Flow(world, client, sql).setup()
    resp = await f.new("offline", data={**UNIT, "position_title": "软件\x00工程师"})
    assert resp.status == 400 and resp.error == "invalid_input"
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s", (f.g["id"],))[0]["n"] == 0


@pytest.fixture
def production_port(config, io_loop):
    """The app as APP_ENV=production builds it, served on its own port."""
    import dataclasses

    from tests.support import running_app, serving
    for application in running_app(dataclasses.replace(config, app_env="production"), io_loop):
        yield from serving(application, io_loop)


@pytest.mark.gen_test
async def test_xsrf_cookie_is_secure_in_production(http_client, production_port, base_url):
    """Finding 13: the _xsrf cookie lacked Secure in production (the session cookie had it)."""
    def xsrf_cookies(resp) -> list[str]:
        return [c for c in resp.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")]
    [xsrf] = xsrf_cookies(await http_client.fetch(f"http://127.0.0.1:{production_port}/admin/login"))
    assert "Secure" in xsrf and "SameSite=Lax" in xsrf
    [demo] = xsrf_cookies(await http_client.fetch(base_url + "/admin/login"))
    assert "Secure" not in demo


@pytest.fixture
def behind_proxy_port(config, io_loop):
    """The app configured with TRUSTED_PROXIES=127.0.0.1 (the test client plays the proxy)."""
    import dataclasses

    from tests.support import running_app, serving
    for application in running_app(dataclasses.replace(config, trusted_proxies="127.0.0.1, 10.9.0.0/16"), io_loop):
        yield from serving(application, io_loop)


async def _address_limited(app, address: str) -> None:
    from signing.accounts import MAX_FAILURES_PER_ADDRESS
    await app.redis.set("login:address:" + app.vault.blind_index(address), MAX_FAILURES_PER_ADDRESS, ex=60)


@pytest.fixture
def served_process(config):
    """`python -m server serve` as production runs it (its own HTTPServer), on a free port; yields the port."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=config.database_url, REDIS_URL=config.redis_url, APP_ENV="test",
               UPLOAD_DIR=config.upload_dir, PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], cwd=Path(__file__).resolve().parent.parent,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.gen_test
async def test_forwarding_headers_from_an_untrusted_peer_are_ignored(world, http_client, served_process, app):
    """Finding 5: `serve` trusted X-Real-Ip / X-Forwarded-For from anyone: a new value reset the per-address
    login limit. Without TRUSTED_PROXIES they name nobody."""
    await _address_limited(app, "127.0.0.1")
    username = await world.user("ministry")
    c = Client(http_client, f"http://127.0.0.1:{served_process}")
    for header in ({"X-Real-Ip": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}):
        resp = await c.request("POST", "/api/login", json_body={"username": username, "password": PASSWORD},
                               headers=header)
        assert resp.status == 429 and resp.error == "rate_limited", (header, resp)


@pytest.mark.gen_test
async def test_forwarding_headers_from_a_trusted_proxy_name_the_client(world, http_client, behind_proxy_port, app):
    await _address_limited(app, "203.0.113.9")
    username = await world.user("ministry")
    c = Client(http_client, f"http://127.0.0.1:{behind_proxy_port}")

    async def login(headers):
        return await c.request("POST", "/api/login", json_body={"username": username, "password": PASSWORD},
                               headers=headers)
    # the right-most address that is not one of our proxies is the client; what the client wrote to its left is not
    assert (await login({"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.9.1.1"})).error == "rate_limited"
    assert (await login({"X-Forwarded-For": "203.0.113.9, 198.51.100.2"})).status == 200
    assert (await login({"X-Real-Ip": "203.0.113.9"})).error == "rate_limited"


@pytest.mark.gen_test
@pytest.mark.parametrize("draft", [{"address": {"nested": {"deep": "x"}}}, {"unknown_field": "x"},
                                   {"postcode": "abc"}, {"receiver_type": "随便"}, {"address": "x" * 5000}])
async def test_registration_drafts_are_validated_like_submissions(world, client, sql, draft):
    """Finding 3: drafts were stored unvalidated (nested objects, unknown fields)."""
    school = await registrations_school(world, client)
    [g] = await world.graduates(school)
    gc = client()
    await gc.login(g["username"])
    resp = await gc.request("PUT", "/api/graduate/registrations/archive", json_body={"action": "save", "data": draft})
    assert resp.status == 400 and resp.error == "invalid_record_data", resp
    assert sql("SELECT COUNT(*) n FROM registrations WHERE graduate_id=%s", (g["id"],))[0]["n"] == 0
    partial = await gc.request("PUT", "/api/graduate/registrations/archive",
                               json_body={"action": "save", "data": {"address": "  北京市朝阳区 ", "postcode": "100020"}})
    assert partial.status == 200 and partial.json["registration"]["data"] == {"address": "北京市朝阳区",
                                                                              "postcode": "100020"}


@pytest.mark.gen_test(timeout=60)
async def test_operator_revokes_every_session_of_an_account(world, client, config):
    """Finding 9: sessions an operator ends (`python -m server revoke-sessions USERNAME`) stop working at once."""
    from tests.test_commands import run
    username = await world.user("ministry")
    phone, laptop = client(), client()
    await phone.login(username)
    await laptop.login(username)
    done = await asyncio.get_running_loop().run_in_executor(None, run, config, "revoke-sessions", username)
    assert done.returncode == 0, done.stderr
    assert (await phone.get("/api/me")).status == 401 and (await laptop.get("/api/me")).status == 401
    assert (await client().post("/api/login", {"username": username, "password": PASSWORD})).status == 200
    missing = await asyncio.get_running_loop().run_in_executor(None, run, config, "revoke-sessions", "nobody-here")
    assert missing.returncode == 1
