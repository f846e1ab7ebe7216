"""The unit's registration status from the enterprise credit service on the audit view, or "check manually"."""
from __future__ import annotations

import dataclasses
import json

import pytest
from tornado.httpclient import AsyncHTTPClient

from emulators.credit import make_emulator_app
from tests.flows import UNIT, Flow
from tests.support import running_app, serving


@pytest.fixture
def credit(io_loop):
    emulator = make_emulator_app()
    for port in serving(emulator, io_loop):
        emulator.url = f"http://127.0.0.1:{port}/api/enterprises"
        emulator.control = f"http://127.0.0.1:{port}/_control"
        yield emulator


@pytest.fixture
def app(config, credit, io_loop):
    yield from running_app(dataclasses.replace(config, credit_service_url=credit.url), io_loop)


async def forget_cached_statuses(app):
    async for key in app.redis.scan_iter("credit:status:*"):
        await app.redis.delete(key)


async def control(credit, **body):
    await AsyncHTTPClient().fetch(credit.control, method="POST", body=json.dumps(body))


async def audit_view(f, data=None):
    rid = (await f.new("offline", data=data)).json["record"]["id"]
    return (await f.S.get(f"/api/school/records/{rid}/audit")).json["record"]


@pytest.mark.gen_test
async def test_audit_view_shows_the_registration_status(world, client, sql, credit, app):
    await forget_cached_statuses(app)
    f = await Flow(world, client, sql).setup()
    record = await audit_view(f)
    assert record["unit_registration"] == {"available": True, "status": "存续", "normal": True, "text": "登记状态：存续"}


@pytest.mark.gen_test
async def test_a_revoked_unit_is_flagged(world, client, sql, credit, app):
    await forget_cached_statuses(app)
    code = "91350100M000100Y43"
    await control(credit, statuses={code: "吊销"})
    f = await Flow(world, client, sql).setup()
    record = await audit_view(f, data={**UNIT, "credit_code": code})
    assert record["unit_registration"]["normal"] is False and "非存续" in record["unit_registration"]["text"]


@pytest.mark.gen_test
@pytest.mark.parametrize("fail", ["http500", "timeout"])
async def test_unreachable_service_says_check_manually(world, client, sql, credit, app, fail):
    await forget_cached_statuses(app)
    await control(credit, fail=fail)
    f = await Flow(world, client, sql).setup()
    record = await audit_view(f)
    assert record["unit_registration"]["available"] is False and "手动查询" in record["unit_registration"]["text"]
