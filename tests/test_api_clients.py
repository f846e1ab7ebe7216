"""API clients: the xsrf token from GET /api/session (the README's curl example), and an OpenAPI document that
real answers validate against (response schemas, real path-parameter names, the xsrf header, media types)."""
from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from tornado.httpclient import HTTPRequest

from tests.support import PASSWORD


def answer_schema(doc: dict, path: str, method: str, status: int) -> dict:
    responses = doc["paths"][path][method]["responses"]
    spec = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
    return {**spec["content"]["application/json"]["schema"], "components": doc["components"]}


def check(doc, path, method, resp):
    """The answer validates against what the document says this path, method and status answer."""
    Draft202012Validator(answer_schema(doc, path, method, resp.status)).validate(resp.json)


@pytest.mark.gen_test
async def test_curl_style_login_takes_the_token_from_api_session(http_client, base_url, world):
    school = await world.school()
    username = await world.user("school", school_id=school["id"])
    # curl -c jar https://…/api/session
    resp = await http_client.fetch(base_url + "/api/session")
    token = json.loads(resp.body)["xsrf_token"]
    cookie = "; ".join(c.split(";", 1)[0] for c in resp.headers.get_list("Set-Cookie"))
    assert cookie.startswith("_xsrf=")
    login = json.dumps({"username": username, "password": PASSWORD})
    # without the header: 403 xsrf_failed, as the README warns
    refused = await http_client.fetch(HTTPRequest(base_url + "/api/login", method="POST", body=login,
                                                  headers={"Cookie": cookie}), raise_error=False)
    assert refused.code == 403 and json.loads(refused.body)["error"]["code"] == "xsrf_failed"
    # curl -b jar -c jar -H "X-XSRFToken: $TOKEN" -d '{…}' https://…/api/login
    resp = await http_client.fetch(HTTPRequest(base_url + "/api/login", method="POST", body=login,
                                               headers={"Cookie": cookie, "X-XSRFToken": token}))
    assert json.loads(resp.body)["account"]["role"] == "school"


@pytest.mark.gen_test
async def test_real_answers_validate_against_the_openapi_document(client, world):
    c = client()
    doc = (await c.get("/api/openapi.json")).json
    check(doc, "/api/session", "get", anonymous := await c.get("/api/session"))
    assert anonymous.json["account"] is None
    check(doc, "/api/me", "get", await c.get("/api/me"))  # 401, the error shape
    school = await world.school()
    username = await world.user("school", school_id=school["id"])
    check(doc, "/api/login", "post", login := await c.post("/api/login", {"username": username, "password": PASSWORD}))
    assert login.status == 200
    check(doc, "/api/login", "post", await c.post("/api/login", {"username": username, "password": "wrong-one"}))
    check(doc, "/api/me", "get", me := await c.get("/api/me"))
    assert me.status == 200 and me.json["account"]["permissions"] == {"employment": "read_write"}
    check(doc, "/api/session", "get", session := await c.get("/api/session"))
    assert session.json["account"]["role"] == "school"
    check(doc, "/healthz", "get", await c.get("/healthz"))
    check(doc, "/api/codes", "get", codes := await c.get("/api/codes"))
    check(doc, "/api/destination-types", "get", types := await c.get("/api/destination-types"))
    assert codes.status == 200 and types.status == 200 and types.json["items"]
    check(doc, "/api/logout", "post", await c.post("/api/logout"))
    # the schemas are strict: an answer with a field the document does not list fails
    with pytest.raises(Exception, match="Additional properties"):
        Draft202012Validator(answer_schema(doc, "/api/me", "get", 200)).validate({**me.json, "extra": 1})


@pytest.mark.gen_test
async def test_openapi_names_path_parameters_sends_the_xsrf_header_and_real_media_types(client):
    doc = (await client().get("/api/openapi.json")).json
    assert not [p for p in doc["paths"] if re.search(r"\{p\d+\}", p)], "unnamed path parameters"
    assert "/api/records/{record_id}/actions/{action}" in doc["paths"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            headers = [p["name"] for p in op["parameters"] if p["in"] == "header"]
            assert (headers == ["X-XSRFToken"]) == (method != "get"), (method, path)
            assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == set(re.findall(r"\{(\w+)\}", path))
    export = doc["paths"]["/api/school/records/export"]["get"]
    assert list(export["responses"]["200"]["content"]) == ["text/csv"] and "requestBody" not in export
    assert list(doc["paths"]["/api/records/{record_id}/agreement.pdf"]["get"]["responses"]["200"]["content"]) == [
        "application/pdf"]


@pytest.mark.gen_test(timeout=60)
async def test_record_answers_validate_against_the_openapi_document(world, client, sql):
    from tests.flows import Flow
    f = await Flow(world, client, sql).setup()
    rid = (await f.invite()).json["record"]["id"]
    doc = (await client().get("/api/openapi.json")).json
    check(doc, "/api/records/{record_id}", "get", seen := await f.G.get(f"/api/records/{rid}"))
    assert [a["action"] for a in seen.json["record"]["actions"]] == ["accept", "refuse"]
    check(doc, "/api/records/{record_id}/actions/{action}", "post", accepted := await f.act(f.G, rid, "accept"))
    assert accepted.status == 200 and len(accepted.json["record"]["timeline"]) == 2
    check(doc, "/api/records/{record_id}/actions/{action}", "post", await f.act(f.G, rid, "accept"))  # 409
    check(doc, "/api/records/{record_id}", "get", await f.S.get(f"/api/records/{rid}"))
