"""Fixtures and helpers of the WeChat tests: the app with the WeChat routes, pointed at a WeChat emulator
served on a free local port in the same io_loop (a fresh appid per test, so Redis keys never clash).

Test modules rebind these fixtures by name:  emulator, wx_config, app = support.emulator, ..."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from emulators.wechat import make_emulator_app
from tests.support import running_app


class Emulator:
    def __init__(self, app, port: int, appid: str, secret: str):
        self.app, self.state = app, app.state
        self.base = f"http://127.0.0.1:{port}/"
        self.appid, self.secret = appid, secret

    async def request(self, method: str, path: str, body=None, headers=None, **kw):
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        if body is None and method == "POST":
            body = b""
        return await AsyncHTTPClient().fetch(HTTPRequest(self.base + path.lstrip("/"), method=method, body=body,
                                                         headers=headers, follow_redirects=False, **kw),
                                             raise_error=False)

    async def control(self, path: str, body: dict | None = None) -> dict:
        resp = await self.request("POST", "_control/" + path, body or {})
        assert resp.code == 200, resp.body
        return json.loads(resp.body)

    async def user(self, openid: str, state: str = "subscribed") -> None:
        await self.control("users", {"openid": openid, "state": state})

    def stat(self, name: str) -> int:
        return self.state.stats[name]

    def calls(self, path: str) -> int:
        return self.state.stats[f"calls {path}"]


@pytest.fixture
def start_emulator(io_loop):
    servers = []

    def start(**kwargs) -> Emulator:
        appid, secret = "wx" + uuid.uuid4().hex[:16], uuid.uuid4().hex
        app = make_emulator_app({appid: secret}, **kwargs)
        sock, port = bind_unused_port()
        http_server = HTTPServer(app)
        http_server.add_sockets([sock])
        servers.append(http_server)
        return Emulator(app, port, appid, secret)
    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def emulator(start_emulator):
    return start_emulator()


def settings_for(config, emulator: Emulator, public_base_url: str):
    return dataclasses.replace(config, wechat_api_base=emulator.base, wechat_app_id=emulator.appid,
                               wechat_app_secret=emulator.secret, public_base_url=public_base_url)


@pytest.fixture
def wx_config(config, emulator, base_url):
    return settings_for(config, emulator, base_url)


@pytest.fixture
def app(wx_config, io_loop):
    """The application pointed at this test's WeChat emulator."""
    yield from running_app(wx_config, io_loop)


# -- WeChat's side of the callback -----------------------------------------------------------------

def signed_query(token: str, timestamp: int | None = None, nonce: str | None = None, **extra) -> str:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra})


def event_xml(openid: str, event: str, key: str | None = None, create_time: int | None = None,
              to: str = "gh_demo") -> str:
    key_node = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{key_node}</xml>")


def text_xml(openid: str, content: str, msg_id: int, to: str = "gh_demo") -> str:
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


# -- a browser inside WeChat -----------------------------------------------------------------------

async def authorize_redirect(client, next_path: str = "/wx/home"):
    """GET /wx/oauth: our answer (a redirect to WeChat's authorize page) and its query."""
    resp = await client.get("/wx/oauth?" + urlencode({"next": next_path}))
    assert resp.status == 302, resp
    location = resp.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def pick_user(emulator: Emulator, query: dict, openid: str) -> str:
    """The emulator's authorize page: choose the openid; returns the callback URL with code and state."""
    form = {k: query.get(k, "") for k in ("appid", "redirect_uri", "scope", "state")}
    resp = await emulator.request("POST", "connect/oauth2/authorize", urlencode({**form, "openid": openid}).encode())
    assert resp.code == 302, resp.body
    return resp.headers["Location"]


async def wechat_visit(client, emulator: Emulator, openid: str, next_path: str = "/wx/home"):
    """The whole OAuth round trip as WeChat's browser makes it; returns our callback's answer."""
    _, query = await authorize_redirect(client, next_path)
    callback = await pick_user(emulator, query, openid)
    return await client.get(callback[len(client.base):])


async def post_form(client, path: str, fields: dict, xsrf: bool = True):
    return await client.request("POST", path, body=urlencode(fields).encode(), xsrf=xsrf,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
