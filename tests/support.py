"""Test helpers: an HTTP client with cookies and xsrf, and a World that creates what a test needs
(province, school, accounts, roster) through the same services the product uses."""
from __future__ import annotations

import itertools
import json
import uuid

from tornado.httpclient import HTTPRequest

from demo.sample_data import make_credit_code, make_phone, roster_csv, roster_row
from signing import clock, eligibility
from signing.accounts import hash_password
from signing.actors import SYSTEM
from signing.roster_service import import_roster
from signing.settings_service import add_agreement_handlers, update_province, update_school_settings

PASSWORD = "test2026pass"
_seq = itertools.count(1000)
_province_codes = itertools.count(20)
_password_hash = None
_shared_provinces: dict[str, str] = {}  # agreement type -> a province every school of this run may share


def current_cohort() -> int:
    return eligibility.current_cohort(clock.today())


class Response:
    def __init__(self, resp):
        self.status = resp.code
        self.headers = resp.headers
        self.body = resp.body
        try:
            self.json = json.loads(resp.body) if resp.body else None
        except ValueError:
            self.json = None

    @property
    def error(self) -> str | None:
        return (self.json or {}).get("error", {}).get("code")

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    def __init__(self, http_client, base_url: str):
        self.http, self.base = http_client, base_url
        self.cookies = {"_xsrf": uuid.uuid4().hex}

    async def request(self, method: str, path: str, json_body=None, body: bytes | None = None,
                      headers: dict | None = None, xsrf: bool = True) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if xsrf:
            headers["X-XSRFToken"] = self.cookies["_xsrf"]
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        resp = await self.http.fetch(HTTPRequest(self.base + path, method=method, headers=headers, body=body,
                                                 follow_redirects=False, request_timeout=60), raise_error=False)
        for cookie in resp.headers.get_list("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value in ('""', ""):
                self.cookies.pop(name, None)
            elif name != "_xsrf":
                self.cookies[name] = value
        return Response(resp)

    async def get(self, path, **kw):
        return await self.request("GET", path, **kw)

    async def post(self, path, json_body=None, **kw):
        return await self.request("POST", path, json_body=json_body, **kw)

    async def patch(self, path, json_body=None, **kw):
        return await self.request("PATCH", path, json_body=json_body, **kw)

    async def login(self, username: str, password: str = PASSWORD) -> Response:
        resp = await self.post("/api/login", {"username": username, "password": password})
        assert resp.status == 200, resp
        return resp

    async def upload(self, path: str, field: str, filename: str, content: bytes, fields: dict | None = None,
                     content_type: str = "application/octet-stream") -> Response:
        boundary = uuid.uuid4().hex
        parts = []
        for k, v in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return await self.request("POST", path, body=b"".join(parts),
                                  headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def serving(emulator_app, io_loop):
    """An emulator (any Tornado application) on a free local port for one test; yields the port."""
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port
    sock, port = bind_unused_port()
    server = HTTPServer(emulator_app)
    server.add_sockets([sock])
    yield port
    server.stop()
    io_loop.run_sync(server.close_all_connections)


def running_app(settings, io_loop):
    """The application started for one test and stopped after it (use with `yield from` in a fixture)."""
    from server.app import Application
    application = Application(settings)
    io_loop.run_sync(application.start)
    yield application
    io_loop.run_sync(application.stop)


class World:
    """Creates provinces, schools, accounts and graduates with unique names for one test."""

    def __init__(self, app):
        self.app = app
        self.db = app.db

    async def password_hash(self) -> str:
        global _password_hash
        if _password_hash is None:
            _password_hash = await hash_password(PASSWORD)
        return _password_hash

    async def province(self, agreement_type="three_party", employment=True) -> str:
        """A fresh province (codes 20-99: tests that need their own province are few)."""
        code = f"{next(_province_codes):02d}"
        async with self.db.transaction() as cur:
            await cur.execute("INSERT INTO provinces (code, name) VALUES (%s,%s)", (code, f"测试省{code}"))
        if employment:
            await update_province(self.db, SYSTEM, code, {"agreement_type": agreement_type, "module_employment": True})
        return code

    async def school(self, province: str | None = None, online_signing=True, cohort: int | None = None,
                     agreement_type="three_party") -> dict:
        if province is None:
            if agreement_type not in _shared_provinces:
                _shared_provinces[agreement_type] = await self.province(agreement_type=agreement_type)
            province = _shared_provinces[agreement_type]
        seq = next(_seq)
        code = f"9{seq:05d}"
        async with self.db.transaction() as cur:
            await cur.execute(
                "INSERT INTO schools (code, name, province_code, phone, address, postcode) VALUES (%s,%s,%s,%s,%s,%s)",
                (code, f"测试大学{seq}", province, "010-12345678", "北京市海淀区测试路1号", "100000"))
            school_id = cur.lastrowid
        school = {"id": school_id, "code": code, "province": province, "cohort": cohort or current_cohort()}
        if online_signing:
            await update_school_settings(self.db, SYSTEM, school_id, school["cohort"], {"online_signing": True})
            await add_agreement_handlers(self.db, SYSTEM, school_id, school["cohort"], "unified", {"all": {
                "name": "李老师", "phone": "010-62751111", "address": "北京市海淀区测试路1号", "postcode": "100000"}})
        return school

    async def user(self, role: str, permissions: dict | None = None, **scope) -> str:
        username = f"{role}_{next(_seq)}"
        if role in ("school", "department") and permissions is None:
            permissions = {"employment": "read_write"}
        async with self.db.transaction() as cur:
            columns = ["username", "password_hash", "role", "display_name", *scope]
            await cur.execute(
                f"INSERT INTO users ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                (username, await self.password_hash(), role, f"{role}用户", *scope.values()))
            user_id = cur.lastrowid
            for module, level in (permissions or {}).items():
                await cur.execute("INSERT INTO user_permissions VALUES (%s,%s,%s)", (user_id, module, level))
        return username

    async def employer(self, certification="certified") -> dict:
        seq = next(_seq)
        async with self.db.transaction() as cur:
            await cur.execute("INSERT INTO employers (name, credit_code, certification) VALUES (%s,%s,%s)",
                              (f"测试用人单位{seq}有限公司", make_credit_code(seq), certification))
            employer_id = cur.lastrowid
        username = await self.user("employer", employer_id=employer_id)
        return {"id": employer_id, "username": username, "credit_code": make_credit_code(seq)}

    def roster_rows(self, school: dict, n: int = 1, **kw) -> list[dict]:
        return [roster_row(next(_seq), school["code"], school["cohort"], **kw) for _ in range(n)]

    async def import_rows(self, rows: list[dict]):
        return await import_roster(self.db, self.app.vault, SYSTEM, "roster.csv", roster_csv(rows))

    async def graduates(self, school: dict, n: int = 1, login=True, **kw) -> list[dict]:
        """n graduates on the school's roster, each with a login (username grad_<seq>)."""
        rows = self.roster_rows(school, n, **kw)
        await self.import_rows(rows)
        result = []
        for row in rows:
            g = await self.db.fetchone("SELECT id FROM graduates WHERE id_hash=%s AND cohort=%s",
                                       (self.app.vault.blind_index(row["身份证号"]), school["cohort"]))
            entry = {"id": g["id"], "row": row, "id_number": row["身份证号"], "name": row["姓名"]}
            if login:
                phone = make_phone(next(_seq))
                entry["username"] = await self.user(
                    "graduate", graduate_id=g["id"], phone_hash=self.app.vault.blind_index(phone),
                    phone_cipher=self.app.vault.encrypt(phone), phone_masked=phone[:3] + "****" + phone[-4:])
                entry["phone"] = phone
            result.append(entry)
        return result
