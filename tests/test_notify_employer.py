"""Notifications around the employer's agreement link: the SMS goes to the unit's contact mobile with the
link, and the graduate hears when the unit has uploaded the stamped copy."""
from __future__ import annotations

import pytest

from demo.sample_data import make_phone
from tests import agreement_photos as photos
from tests import test_notify_support as support
from tests.flows import UNIT, Flow
from tests.test_employer_link import approved_offline, post_photo, request_link

start_emulator, emulator, sms_emulator, app, notifier = (
    support.start_emulator, support.emulator, support.sms_emulator, support.app, support.notifier)


@pytest.mark.gen_test
async def test_agreement_link_sms_reaches_the_unit_contact_once_per_link(world, client, sql, emulator, sms_emulator,
                                                                        notifier):
    f = await Flow(world, client, sql).setup()
    mobile = make_phone(700000 + f.g["id"])  # this unit's own number: other tests' links go elsewhere
    rid = (await f.new("offline", data={**UNIT, "contact_mobile": mobile})).json["record"]["id"]
    await f.act(f.S, rid, "pass")
    first = await request_link(f, rid)
    second = await request_link(f, rid)
    await support.drain(notifier, sql, [f.g["id"]])
    received = await support.sms_received(sms_emulator, mobile)
    texts = [m["text"] for m in received]
    assert len(texts) == 2 and any(first in t for t in texts) and any(second in t for t in texts)
    assert all(f.g["name"] in t for t in texts)
    logged = sql("SELECT content FROM deliveries WHERE record_id=%s AND template='employer_link'", (rid,))
    assert len(logged) == 2 and not any(first in r["content"] or second in r["content"] for r in logged)
    await notifier.run_once()
    assert len(await support.sms_received(sms_emulator, mobile)) == 2


@pytest.mark.gen_test
async def test_graduate_is_told_when_the_unit_uploads_the_stamped_copy(world, client, sql, emulator, sms_emulator,
                                                                      notifier):
    f = await Flow(world, client, sql).setup()
    openid = await support.bind(sql, emulator, f.g)
    rid = await approved_offline(f)
    token = await request_link(f, rid)
    unit = client()
    await unit.get(f"/e/{token}")
    pdf = (await unit.get(f"/e/{token}/agreement.pdf")).body  # the stamped copy must show this agreement
    resp = await post_photo(unit, token, photos.stamped_copy(pdf))
    assert resp.status in (200, 302, 303), resp
    await support.drain(notifier, sql, [f.g["id"]])
    messages = await support.wechat_received(emulator, openid)
    assert any("用人单位已回传" in str(m["data"]) for m in messages)


@pytest.mark.gen_test
async def test_archive_review_result_reaches_the_graduate(world, client, sql, emulator, sms_emulator, notifier):
    from tests.test_registrations import ARCHIVE, setting_up
    school, g, gc, sc = await setting_up(world, client)
    reg = (await gc.request("PUT", "/api/graduate/registrations/archive",
                            json_body={"action": "submit", "data": ARCHIVE})).json["registration"]
    await sc.post(f"/api/school/registrations/{reg['id']}/review", {"decision": "approve"})
    await support.drain(notifier, sql, [g["id"]])
    received = await support.sms_received(sms_emulator, g["phone"])  # not bound to WeChat: the SMS instead
    assert len(received) == 1 and "档案信息登记" in received[0]["text"]
