"""Fixtures and helpers of the notification tests: the app pointed at a WeChat emulator and an Aliyun SMS
emulator, both served over HTTP on free local ports in the test's io_loop, and a Notifier on that app.

Test modules rebind these fixtures by name:  start_emulator, emulator, sms_emulator, app, notifier = ..."""
from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlencode

import pytest
from tornado.httpclient import AsyncHTTPClient

from emulators.aliyun_sms import make_emulator_app as make_sms_emulator
from notify.delivery import Notifier
from tests import test_wechat_support as wx
from tests.support import running_app, serving
from tests.test_wechat_support import new_openid

start_emulator, emulator = wx.start_emulator, wx.emulator


@pytest.fixture
def sms_emulator(config, base_url, io_loop):
    app = make_sms_emulator({config.aliyun_access_key_id: config.aliyun_access_key_secret}, site=base_url,
                            hang_seconds=30)
    for port in serving(app, io_loop):
        app.endpoint = f"127.0.0.1:{port}"
        yield app


@pytest.fixture
def app(config, emulator, sms_emulator, base_url, io_loop):
    settings = dataclasses.replace(config, wechat_api_base=emulator.base, wechat_app_id=emulator.appid,
                                   wechat_app_secret=emulator.secret, aliyun_sms_endpoint=sms_emulator.endpoint,
                                   public_base_url=base_url)
    yield from running_app(settings, io_loop)


@pytest.fixture
def notifier(app):
    return Notifier(app)


async def drain(notifier, sql, graduate_ids, rounds: int = 10) -> None:
    """Run the worker as if time passed: these graduates' pending work is made due between rounds."""
    marks = ",".join(["%s"] * len(graduate_ids))
    for _ in range(rounds):
        sql(f"UPDATE outbox SET next_attempt_at=NOW(3) WHERE topic='notify' AND status='pending'"
            f" AND graduate_id IN ({marks})", graduate_ids)
        sql(f"UPDATE deliveries SET next_attempt_at=NOW(3) WHERE status='pending' AND graduate_id IN ({marks})",
            graduate_ids)
        await notifier.run_once()


async def bind(sql, emulator, graduate: dict, state: str = "subscribed", subscribed: int = 1) -> str:
    """The graduate bound to a new openid (our side), which WeChat knows in `state`."""
    openid = new_openid()
    sql("UPDATE users SET wechat_openid=%s, wechat_subscribed=%s WHERE graduate_id=%s",
        (openid, subscribed, graduate["id"]))
    await emulator.user(openid, state)
    graduate["openid"] = openid
    return openid


async def wechat_received(emulator, openid: str) -> list[dict]:
    resp = await emulator.request("GET", "_control/messages?" + urlencode({"touser": openid}))
    return json.loads(resp.body)["messages"]


async def sms_received(sms_emulator, phone: str) -> list[dict]:
    resp = await AsyncHTTPClient().fetch(f"http://{sms_emulator.endpoint}/_control/messages?"
                                         + urlencode({"phone": phone}))
    return json.loads(resp.body)["messages"]


async def sms_fail(sms_emulator, **rule) -> None:
    await AsyncHTTPClient().fetch(f"http://{sms_emulator.endpoint}/_control/fail", method="POST",
                                  body=json.dumps(rule))


def deliveries(sql, graduate_id: int, channel: str | None = None) -> list[dict]:
    rows = sql("SELECT * FROM deliveries WHERE graduate_id=%s ORDER BY id", (graduate_id,))
    return [r for r in rows if channel is None or r["channel"] == channel]
