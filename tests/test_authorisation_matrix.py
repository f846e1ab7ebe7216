"""The authorisation matrix, generated from the route table: every route × every method × every role of
another school, province or employer (and no login at all), against one graduate's data at a foreign school.

Each route has its row in ROWS: how its path is filled with the foreign ids and what it is —
  "foreign": the path names the foreign graduate's data: nobody below may get a 2xx;
  "foreign_school": the path names the foreign school's own data (a warning mark): nobody outside it may get a
             2xx (its own staff of another level or department may: they are not asked);
  "own":     it answers about the caller's own scope: any status but a 5xx;
  "public":  no login needed by design (login, code lists, the WeChat callback, the link and verify pages).
For every request: no 5xx, and none of the foreign graduate's identifying data in the answer. A new route
fails test_every_route_has_its_row until its row is written here."""
from __future__ import annotations

import pytest

from server.app import collect_routes
from signing.actors import SYSTEM
from signing.settings_service import update_province
from tests.flows import UNIT

MARKER_NAME = "覃矩阵"  # the foreign graduate's name: must never appear in an intruder's answer

ROWS: dict[str, tuple[str, str]] = {
    r"/healthz": ("public", "/healthz"),
    r"/metrics": ("public", "/metrics"),
    r"/api/session": ("public", "/api/session"),
    r"/api/openapi.json": ("public", "/api/openapi.json"),
    r"/api/login": ("public", "/api/login"),
    r"/api/logout": ("public", "/api/logout"),
    r"/api/me": ("own", "/api/me"),
    r"/api/me/password": ("own", "/api/me/password"),
    r"/api/school/roster": ("own", "/api/school/roster"),
    r"/api/school/graduates": ("own", "/api/school/graduates?name={name}"),
    r"/api/school/graduates/(\d+)": ("foreign", "/api/school/graduates/{graduate}"),
    r"/api/graduate/profile": ("own", "/api/graduate/profile"),
    r"/api/graduate/profile/confirm": ("own", "/api/graduate/profile/confirm"),
    r"/api/provinces/(\d{2})/settings": ("foreign", "/api/provinces/{province}/settings"),
    r"/api/school/settings": ("own", "/api/school/settings"),
    r"/api/school/settings/agreement-handlers": ("own", "/api/school/settings/agreement-handlers"),
    r"/api/operations": ("own", "/api/operations"),
    r"/api/graduate/records": ("own", "/api/graduate/records"),
    r"/api/records/(\d+)": ("foreign", "/api/records/{record}"),
    r"/api/records/(\d+)/actions/([a-z_]+)": ("foreign", "/api/records/{record}/actions/pass"),
    r"/api/school/records": ("own", "/api/school/records?name={name}"),
    r"/api/school/records/(\d+)/audit": ("foreign", "/api/school/records/{record}/audit"),
    r"/api/destination-types": ("own", "/api/destination-types"),
    r"/api/codes": ("public", "/api/codes"),
    r"/api/employers/register": ("public", "/api/employers/register"),
    r"/api/admin/employers": ("own", "/api/admin/employers"),
    r"/api/admin/employers/(\d+)/certification": ("foreign", "/api/admin/employers/{employer}/certification"),
    r"/api/employer/graduate-search": ("own", "/api/employer/graduate-search"),
    r"/api/employer/invitations": ("own", "/api/employer/invitations"),
    r"/api/school/warnings": ("own", "/api/school/warnings"),
    r"/api/school/warnings/(\d+)": ("foreign_school", "/api/school/warnings/{warning}"),
    r"/api/school/statistics": ("own", "/api/school/statistics"),
    r"/api/school/records/export": ("own", "/api/school/records/export"),
    r"/api/school/records/export\.xlsx": ("own", "/api/school/records/export.xlsx"),
    r"/api/school/roster-template\.xlsx": ("own", "/api/school/roster-template.xlsx"),
    r"/api/graduate/registrations": ("own", "/api/graduate/registrations"),
    r"/api/graduate/registrations/(archive|hukou)": ("own", "/api/graduate/registrations/archive"),
    r"/api/school/registrations": ("own", "/api/school/registrations?module=archive"),
    r"/api/school/registrations/(\d+)/review": ("foreign", "/api/school/registrations/{registration}/review"),
    r"/admin/login": ("public", "/admin/login"),
    r"/admin/logout": ("own", "/admin/logout"),
    r"/admin": ("own", "/admin"),
    r"/admin/records": ("own", "/admin/records"),  # (a name filter would be echoed in the form)
    r"/admin/records/(\d+)": ("foreign", "/admin/records/{record}"),
    r"/admin/records/(\d+)/act/([a-z_]+)": ("foreign", "/admin/records/{record}/act/pass"),
    r"/admin/settings": ("own", "/admin/settings"),
    r"/admin/roster": ("own", "/admin/roster"),
    r"/admin/registrations": ("own", "/admin/registrations?module=archive"),
    r"/admin/warnings": ("own", "/admin/warnings"),
    r"/admin/operations": ("own", "/admin/operations"),
    r"/admin/deliveries": ("own", "/admin/deliveries?status=failed"),
    r"/admin/employers": ("own", "/admin/employers"),
    r"/admin/province": ("own", "/admin/province"),
    r"/admin/graduates": ("own", "/admin/graduates"),  # (a name filter would be echoed in the form)
    r"/wechat/callback": ("public", "/wechat/callback"),
    r"/wx/oauth": ("public", "/wx/oauth"),
    r"/wx/oauth/callback": ("public", "/wx/oauth/callback?code=x&state=y"),
    r"/wx/bind": ("public", "/wx/bind"),
    r"/wx/bind/code": ("public", "/wx/bind/code"),
    r"/wx/unbind": ("own", "/wx/unbind"),
    r"/wx/home": ("own", "/wx/home"),
    r"/api/wechat/binding": ("own", "/api/wechat/binding"),
    r"/api/wechat/jssdk-config": ("own", "/api/wechat/jssdk-config?url=http%3A%2F%2F127.0.0.1%2F"),
    r"/": ("public", "/"),
    r"/wx/records": ("own", "/wx/records"),
    r"/wx/records/new": ("own", "/wx/records/new"),
    r"/wx/records/(\d+)": ("foreign", "/wx/records/{record}"),
    r"/wx/records/(\d+)/edit": ("foreign", "/wx/records/{record}/edit"),
    r"/wx/records/(\d+)/act/([a-z_]+)": ("foreign", "/wx/records/{record}/act/withdraw"),
    r"/wx/profile": ("own", "/wx/profile"),
    r"/wx/messages": ("own", "/wx/messages"),
    r"/wx/registrations": ("own", "/wx/registrations"),
    r"/api/graduate/messages": ("own", "/api/graduate/messages"),
    r"/api/school/deliveries": ("own", "/api/school/deliveries"),
    r"/api/employer/certification-documents": ("own", "/api/employer/certification-documents?document=licence"),
    r"/api/uploads": ("own", "/api/uploads?kind=paper-agreement"),
    r"/api/uploads/wechat": ("own", "/api/uploads/wechat"),
    r"/api/uploads/(\d+)": ("foreign", "/api/uploads/{upload}"),
    r"/api/records/(\d+)/agreement\.pdf": ("foreign", "/api/records/{record}/agreement.pdf"),
    r"/verify/([^/]+)": ("public", "/verify/not-a-token"),
    r"/api/records/(\d+)/employer-link": ("foreign", "/api/records/{record}/employer-link"),
    r"/e/([^/]+)": ("public", "/e/not-a-token"),
    r"/e/([^/]+)/agreement\.pdf": ("public", "/e/not-a-token/agreement.pdf"),
    r"/e/([^/]+)/page-(\d)\.png": ("public", "/e/not-a-token/page-1.png"),
    r"/e/([^/]+)/upload": ("public", "/e/not-a-token/upload"),
    r"/demo/phones": ("public", "/demo/phones"),
    r"/employer": ("own", "/employer"),
    r"/employer/login": ("public", "/employer/login"),
    r"/employer/logout": ("own", "/employer/logout"),
    r"/employer/register": ("public", "/employer/register"),
    r"/employer/certification": ("own", "/employer/certification"),
    r"/employer/certification/(licence|authorisation)": ("own", "/employer/certification/licence"),
    r"/employer/invite": ("own", "/employer/invite"),
    r"/employer/records/(\d+)": ("foreign", "/employer/records/{record}"),
    r"/employer/records/(\d+)/act/([a-z_]+)": ("foreign", "/employer/records/{record}/act/request_cancel"),
}
# a well-formed body for the routes that change a foreign graduate's data, so that the scope is what refuses
BODIES = {
    r"/api/school/registrations/(\d+)/review": {"decision": "approve"},
    r"/api/records/(\d+)/actions/([a-z_]+)": {"version": "{version}"},
    r"/api/school/warnings/(\d+)": {"category": "violation"},
}
METHODS = ("get", "post", "put", "patch", "delete")
INTRUDERS = ("anonymous", "graduate", "school", "department", "province", "employer", "admin",
             "same_school_other_level", "same_school_other_department")
SAME_SCHOOL = ("same_school_other_level", "same_school_other_department")
ALL_MODULES = {"employment": "read_write", "archive": "read_write", "hukou": "read_write"}


def route_methods() -> list[tuple[str, str]]:
    """(pattern, method) for every method a handler of the route table defines itself (not Tornado's defaults)."""
    import tornado.web
    found = []
    for pattern, handler, *_ in collect_routes("test"):
        for method in METHODS:
            impl = getattr(handler, method, None)
            if impl is not None and impl is not getattr(tornado.web.RequestHandler, method):
                found.append((pattern, method))
    return found


def test_every_route_has_its_row():
    assert {p for p, _ in route_methods()} == set(ROWS)


async def foreign_world(world, client) -> dict:
    """A school in its own province with the archive module on, one graduate with a submitted offline record,
    an upload, a submitted archive registration, a warning mark and a certified employer."""
    province = await world.province()
    await update_province(world.db, SYSTEM, province, {"module_archive": True})
    school = await world.school(province=province)
    [g] = await world.graduates(school, name=MARKER_NAME)
    gc = client()
    await gc.login(g["username"])
    record = await gc.post("/api/graduate/records", {"kind": "offline", "action": "submit", "data": UNIT})
    assert record.status == 201, record
    registration = await gc.request("PUT", "/api/graduate/registrations/archive", json_body={"action": "submit", "data": {
        "receiver_type": "托管单位接收", "receiver_name": "北京市人才服务中心", "address": "北京市朝阳区某路1号",
        "postcode": "100020"}})
    assert registration.status == 200, registration
    sc = client()
    await sc.login(await world.user("school", school_id=school["id"], permissions=ALL_MODULES))
    warning = await sc.post("/api/school/warnings", {"credit_code": UNIT["credit_code"], "unit_name": UNIT["unit_name"],
                                                     "category": "fake"})
    assert warning.status == 201, warning
    async with world.db.transaction() as cur:
        await cur.execute("INSERT INTO uploads (kind, storage_name, sha256, width, height, bytes, graduate_id)"
                          " VALUES ('paper-agreement', 'ab/matrix', REPEAT('0', 64), 1200, 1600, 1000, %s)", (g["id"],))
        upload = cur.lastrowid
    employer = await world.employer(certification="pending")
    return {"graduate": g["id"], "province": province, "school": school["id"], "record": record.json["record"]["id"],
            "registration": registration.json["registration"]["id"], "warning": warning.json["warning"]["id"],
            "upload": upload, "employer": employer["id"], "name": MARKER_NAME, "id_number": g["id_number"],
            "student_number": g["row"]["学号"], "version": record.json["record"]["version"]}


async def intruders(world, client, foreign_school: int) -> dict:
    """One account of every role, none of them entitled to the foreign graduate's data (a 本科 graduate of
    计算机学院): other school, province and employer, and at the same school an account limited to 研究生 and
    another department's."""
    province = await world.province()
    school = await world.school(province=province)
    [g] = await world.graduates(school)
    usernames = {
        "graduate": g["username"],
        "school": await world.user("school", school_id=school["id"], permissions=ALL_MODULES),
        "department": await world.user("department", school_id=school["id"], department="计算机学院",
                                       permissions=ALL_MODULES),
        "province": await world.user("province", province_code=province),
        "employer": (await world.employer())["username"],
        "admin": await world.user("admin"),
        "same_school_other_level": await world.user("school", school_id=foreign_school, permissions=ALL_MODULES,
                                                    level_scope="postgraduate"),
        "same_school_other_department": await world.user("department", school_id=foreign_school, department="物理学院",
                                                         permissions=ALL_MODULES),
    }
    clients = {"anonymous": client()}
    for role, username in usernames.items():
        clients[role] = client()
        await clients[role].login(username)
    return clients


@pytest.mark.gen_test(timeout=300)
async def test_no_role_reaches_a_foreign_graduates_data(world, client, sql):
    foreign = await foreign_world(world, client)
    clients = await intruders(world, client, foreign["school"])
    markers = [foreign["name"], foreign["id_number"], foreign["student_number"]]
    problems = []
    # these end the intruder's session: last
    ending = (r"/api/logout", r"/admin/logout", r"/wx/unbind", r"/employer/logout")
    for pattern, method in sorted(route_methods(), key=lambda pm: pm[0] in ending):
        kind, template = ROWS[pattern]
        path = template.format(**foreign)
        for role in INTRUDERS:
            if kind == "foreign_school" and role in SAME_SCHOOL:
                continue
            c = clients[role]
            body = None if method in ("get", "delete") else {
                k: foreign["version"] if v == "{version}" else v for k, v in BODIES.get(pattern, {}).items()}
            resp = await c.request(method.upper(), path, json_body=body)
            text = resp.body.decode("utf-8", "replace") if resp.body else ""
            if resp.status >= 500 and not (pattern == r"/healthz" and resp.status == 503):  # 503: no worker beats here
                problems.append(f"{method.upper()} {path} as {role}: {resp.status}")
            if kind.startswith("foreign") and 200 <= resp.status < 300:
                problems.append(f"{method.upper()} {path} as {role}: {resp.status} on a foreign graduate's data")
            leaked = [m for m in markers if m in text]
            if leaked:
                problems.append(f"{method.upper()} {path} as {role}: answer shows {leaked}")
    assert not problems, "\n".join(problems)
    # and nothing of the foreign graduate's changed
    record = sql("SELECT state, version FROM records WHERE id=%s", (foreign["record"],))[0]
    assert record["version"] == foreign["version"]
    assert sql("SELECT status FROM registrations WHERE id=%s", (foreign["registration"],))[0]["status"] == "submitted"
    assert sql("SELECT COUNT(*) n FROM employer_warnings WHERE id=%s", (foreign["warning"],))[0]["n"] == 1
    assert sql("SELECT certification FROM employers WHERE id=%s", (foreign["employer"],))[0]["certification"] == "pending"
