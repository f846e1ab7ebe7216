"""Notification delivery against the WeChat and Aliyun SMS emulators over HTTP: every channel outcome,
fallback to SMS, retries and waits, never twice, and template data within WeChat's rules."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from tests import test_notify_support as support
from tests.flows import REJECT, Flow
from tests.test_notify_support import bind, deliveries, drain, sms_fail, sms_received, wechat_received

start_emulator, emulator, sms_emulator, app, notifier = (
    support.start_emulator, support.emulator, support.sms_emulator, support.app, support.notifier)
SEND = "/cgi-bin/message/template/send"


async def invited(world, client, sql, emulator, state="subscribed", subscribed=1, bound=True, data=None):
    """A graduate (bound to WeChat as asked) invited by an employer: one 'notify' outbox row."""
    f = await Flow(world, client, sql).setup()
    if bound:
        await bind(sql, emulator, f.g, state, subscribed)
    resp = await f.invite(data=data)
    assert resp.status in (200, 201), resp
    f.rid = resp.json["record"]["id"]
    return f


async def signed_then_edited(f):
    await f.act(f.G, f.rid, "accept")
    await f.act(f.S, f.rid, "pass")
    resp = await f.act(f.S, f.rid, "edit_after_approval", changes={"job_category": "11"})
    assert resp.status == 200, resp


@pytest.mark.gen_test(timeout=30)
async def test_invitation_reaches_the_bound_graduate_by_wechat_with_the_record_link(
        world, client, sql, emulator, sms_emulator, notifier, base_url):
    f = await invited(world, client, sql, emulator)
    await drain(notifier, sql, [f.g["id"]])
    [message] = await wechat_received(emulator, f.g["openid"])
    assert message["title"] == "签约邀请通知" and message["url"] == f"{base_url}/wx/records/{f.rid}"
    assert message["data"]["thing1"]["value"] == "北京示范科技有限公司"
    assert message["data"]["thing2"]["value"] == "软件工程师"
    assert set(message["data"]) == {"thing1", "thing2", "time3"}  # no first/remark
    [row] = deliveries(sql, f.g["id"])
    assert (row["channel"], row["status"], row["attempts"]) == ("wechat", "sent", 1)
    assert row["provider_id"] == str(message["msgid"]) and row["sent_at"] and row["sending_since"] is None
    assert row["idempotency_key"] == f"{f.rid}:{row['event_id']}:wechat"
    assert row["recipient_masked"] == f.g["openid"][:4] + "****" + f.g["openid"][-4:]
    assert row["content"].startswith("签约邀请通知｜用人单位：北京示范科技有限公司；岗位：软件工程师")
    assert not await sms_received(sms_emulator, f.g["phone"])
    assert sql("SELECT status FROM outbox WHERE topic='notify' AND record_id=%s", (f.rid,))[0]["status"] == "done"


@pytest.mark.gen_test(timeout=30)
async def test_request_id_of_the_invitation_reaches_its_outbox_row_and_delivery(
        world, client, sql, emulator, sms_emulator, notifier):
    f = await Flow(world, client, sql).setup()
    await bind(sql, emulator, f.g, "subscribed", 1)
    resp = await f.invite()
    request_id = resp.headers["X-Request-ID"]
    assert len(request_id) == 32
    rid = resp.json["record"]["id"]
    assert sql("SELECT request_id FROM outbox WHERE record_id=%s", (rid,))[0]["request_id"] == request_id
    await drain(notifier, sql, [f.g["id"]])
    assert [d["request_id"] for d in deliveries(sql, f.g["id"])] == [request_id]


@pytest.mark.gen_test(timeout=30)
async def test_an_edit_by_the_school_sends_a_wechat_message_and_an_sms(world, client, sql, emulator, sms_emulator,
                                                                      notifier):
    f = await invited(world, client, sql, emulator)
    await signed_then_edited(f)
    await drain(notifier, sql, [f.g["id"]])
    titles = [m["title"] for m in await wechat_received(emulator, f.g["openid"])]
    assert titles == ["签约邀请通知", "审核结果通知", "信息变更通知"]
    edited = (await wechat_received(emulator, f.g["openid"]))[-1]
    assert edited["data"]["thing1"]["value"] == "职位类别" and edited["data"]["thing2"]["value"].startswith("测试大学")
    [sms] = await sms_received(sms_emulator, f.g["phone"])
    assert sms["text"] == f"【毕业去向登记】{f.g['name']}同学，学校已修改您的线上签约信息（职位类别），" \
                          "请进入“毕业去向登记”公众号查看。如有疑问请联系学校就业部门。"
    rows = [r for r in deliveries(sql, f.g["id"]) if r["template"] == "record_edited"]
    assert [(r["channel"], r["status"]) for r in rows] == [("wechat", "sent"), ("sms", "sent")]
    assert rows[1]["provider_id"] == sms["biz_id"] and rows[1]["recipient_masked"] == f.g["phone"][:3] + "****" + f.g["phone"][-4:]


@pytest.mark.gen_test(timeout=30)
async def test_an_unsubscribed_graduate_still_gets_the_sms_once(world, client, sql, emulator, sms_emulator, notifier):
    f = await invited(world, client, sql, emulator, subscribed=0)
    await signed_then_edited(f)
    await drain(notifier, sql, [f.g["id"]])
    assert not await wechat_received(emulator, f.g["openid"])
    texts = [m["text"] for m in await sms_received(sms_emulator, f.g["phone"])]
    assert len(texts) == 3  # the invitation and the audit result in place of WeChat, and the edit once
    assert sum("学校已修改您的线上签约信息" in t for t in texts) == 1
    assert any("向您发出签约邀请" in t for t in texts)
    statuses = {(r["template"], r["channel"]): r["status"] for r in deliveries(sql, f.g["id"])}
    assert statuses[("record_edited", "wechat")] == "skipped" and statuses[("record_edited", "sms")] == "sent"
    assert statuses[("invitation", "wechat")] == "skipped" and statuses[("invitation", "sms")] == "sent"


@pytest.mark.gen_test(timeout=30)
async def test_an_unbound_graduate_gets_an_sms_instead(world, client, sql, emulator, sms_emulator, notifier):
    f = await invited(world, client, sql, emulator, bound=False)
    await drain(notifier, sql, [f.g["id"]])
    [sms] = await sms_received(sms_emulator, f.g["phone"])
    assert sms["text"].startswith(f"【毕业去向登记】{f.g['name']}同学，北京示范科技有限公司向您发出签约邀请，请于")
    assert sms["text"].endswith("前进入“毕业去向登记”公众号接受或拒绝。")
    wechat, text = deliveries(sql, f.g["id"])
    assert wechat["status"] == "skipped" and "未绑定微信" in wechat["last_error"] and wechat["attempts"] == 0
    assert text["status"] == "sent" and text["outbox_id"] == wechat["outbox_id"]


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("state, errcode", [("unsubscribed", 43004), ("refused", 43101)])
async def test_wechat_refusing_the_user_falls_back_to_sms(world, client, sql, emulator, sms_emulator, notifier,
                                                          state, errcode):
    f = await invited(world, client, sql, emulator, state=state)  # we still believe they follow us
    await notifier.run_once()
    wechat, text = deliveries(sql, f.g["id"])
    assert wechat["status"] == "skipped" and str(errcode) in wechat["last_error"] and wechat["attempts"] == 1
    assert text["status"] == "sent" and len(await sms_received(sms_emulator, f.g["phone"])) == 1
    subscribed = sql("SELECT wechat_subscribed FROM users WHERE graduate_id=%s", (f.g["id"],))[0]["wechat_subscribed"]
    assert subscribed == (0 if errcode == 43004 else 1)  # 43004: an unsubscribe we had missed


@pytest.mark.gen_test(timeout=40)
@pytest.mark.parametrize("failure", [{"errcode": -1}, {"mode": "http500"}, {"mode": "timeout", "delay": 6}])
async def test_retryable_wechat_failures_back_off_then_send_once(world, client, sql, emulator, sms_emulator,
                                                                notifier, failure):
    f = await invited(world, client, sql, emulator)
    await notifier.run_once()  # everything older first, so the failure hits this graduate's message
    sql("UPDATE deliveries SET status='pending', attempts=0, next_attempt_at=NOW(3) WHERE graduate_id=%s", (f.g["id"],))
    emulator.state.messages.clear()
    emulator.state.client_msg_ids.clear()  # as if the first send were more than 10 minutes ago
    await emulator.control("fail", {"path": SEND, **failure})
    await notifier.run_once()
    [row] = deliveries(sql, f.g["id"])
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"].startswith("微信")
    assert row["next_attempt_at"] > datetime.now() and row["sending_since"] is None
    assert not await wechat_received(emulator, f.g["openid"])
    await drain(notifier, sql, [f.g["id"]])
    [row] = deliveries(sql, f.g["id"])
    assert row["status"] == "sent" and row["attempts"] == 2 and row["last_error"] is None
    assert len(await wechat_received(emulator, f.g["openid"])) == 1 and not await sms_received(sms_emulator, f.g["phone"])


@pytest.mark.gen_test(timeout=30)
async def test_daily_quota_waits_until_tomorrow_instead_of_failing(world, client, sql, emulator, notifier):
    f = await invited(world, client, sql, emulator)
    await emulator.control("fail", {"path": SEND, "errcode": 45009, "times": 50})
    await notifier.run_once()
    [row] = deliveries(sql, f.g["id"])
    tomorrow = datetime.combine(datetime.now().date() + timedelta(days=1), datetime.min.time())
    assert row["status"] == "pending" and "45009" in row["last_error"] and row["next_attempt_at"] >= tomorrow
    await emulator.control("reset")
    await emulator.user(f.g["openid"])
    await drain(notifier, sql, [f.g["id"]])
    assert deliveries(sql, f.g["id"])[0]["status"] == "sent"


@pytest.mark.gen_test(timeout=30)
async def test_permanent_wechat_error_fails_with_the_error(world, client, sql, emulator, sms_emulator, notifier):
    f = await invited(world, client, sql, emulator)
    await emulator.control("fail", {"path": SEND, "errcode": 40003, "times": 50})
    await drain(notifier, sql, [f.g["id"]])
    [row] = deliveries(sql, f.g["id"])
    assert row["status"] == "failed" and row["last_error"].startswith("微信 40003") and row["attempts"] == 1
    assert f.g["openid"] not in row["last_error"]
    assert not await sms_received(sms_emulator, f.g["phone"])


@pytest.mark.gen_test(timeout=30)
async def test_sms_retryable_error_is_retried_and_sent_once(world, client, sql, emulator, sms_emulator, notifier):
    f = await invited(world, client, sql, emulator, bound=False)
    await sms_fail(sms_emulator, mode="code", code="isp.SYSTEM_ERROR", phone=f.g["phone"])
    await notifier.run_once()
    text = deliveries(sql, f.g["id"], "sms")[0]
    assert text["status"] == "pending" and "isp.SYSTEM_ERROR" in text["last_error"] and text["attempts"] == 1
    await drain(notifier, sql, [f.g["id"]])
    assert deliveries(sql, f.g["id"], "sms")[0]["status"] == "sent"
    assert len(await sms_received(sms_emulator, f.g["phone"])) == 1


@pytest.mark.gen_test(timeout=30)
async def test_sms_flow_control_waits_as_long_as_aliyun_says(world, client, sql, emulator, sms_emulator, notifier):
    f = await invited(world, client, sql, emulator, bound=False)
    await sms_fail(sms_emulator, mode="code", code="isv.BUSINESS_LIMIT_CONTROL", message="触发小时级流控Permits:5",
                   phone=f.g["phone"])
    await notifier.run_once()
    text = deliveries(sql, f.g["id"], "sms")[0]
    assert text["status"] == "pending" and text["next_attempt_at"] > datetime.now() + timedelta(minutes=59)


@pytest.mark.gen_test(timeout=30)
async def test_sms_permanent_error_fails(world, client, sql, emulator, sms_emulator, notifier, caplog):
    f = await invited(world, client, sql, emulator, bound=False)
    await sms_fail(sms_emulator, mode="code", code="isv.MOBILE_NUMBER_ILLEGAL", phone=f.g["phone"], times=5)
    with caplog.at_level(logging.INFO):
        await drain(notifier, sql, [f.g["id"]])
    text = deliveries(sql, f.g["id"], "sms")[0]
    assert text["status"] == "failed" and text["attempts"] == 1 and "isv.MOBILE_NUMBER_ILLEGAL" in text["last_error"]
    assert f.g["phone"] not in caplog.text and f.g["phone"][:3] + "****" + f.g["phone"][-4:] in caplog.text


@pytest.mark.gen_test(timeout=30)
async def test_running_the_worker_again_sends_nothing_twice(world, client, sql, emulator, sms_emulator, notifier):
    f = await invited(world, client, sql, emulator)
    await signed_then_edited(f)
    await drain(notifier, sql, [f.g["id"]])
    before = deliveries(sql, f.g["id"])
    # The outbox entries come back as if their 'done' had been lost: expansion is idempotent.
    sql("UPDATE outbox SET status='pending', next_attempt_at=NOW(3) WHERE topic='notify' AND graduate_id=%s",
        (f.g["id"],))
    await drain(notifier, sql, [f.g["id"]])
    await support.Notifier(notifier.app).run_once()  # a second worker
    assert [(r["id"], r["status"], r["attempts"]) for r in deliveries(sql, f.g["id"])] == \
           [(r["id"], r["status"], r["attempts"]) for r in before]
    assert len(await wechat_received(emulator, f.g["openid"])) == 3
    assert len(await sms_received(sms_emulator, f.g["phone"])) == 1


@pytest.mark.gen_test(timeout=30)
async def test_template_data_obeys_wechat_rules_whatever_the_input(world, client, sql, emulator, notifier):
    from tests.flows import UNIT
    long_unit = {**UNIT, "unit_name": "北京示范科技有限公司" * 5, "position_title": "高级\n软件\t工程师" + "很长" * 20}
    f = await invited(world, client, sql, emulator, data=long_unit)
    await f.act(f.G, f.rid, "accept")
    reason = {**REJECT, "explanation": "第一行说明\r\n第二行说明，" + "内容很长" * 30}
    assert (await f.act(f.S, f.rid, "reject", **reason)).status == 200
    await drain(notifier, sql, [f.g["id"]])
    assert [r["status"] for r in deliveries(sql, f.g["id"])] == ["sent", "sent"]  # the emulator checks every value
    invitation, result = await wechat_received(emulator, f.g["openid"])
    assert invitation["data"]["thing1"]["value"] == "北京示范科技有限公司北京示范科技有限公…"
    assert invitation["data"]["thing2"]["value"].startswith("高级 软件 工程师")
    assert result["data"]["phrase2"]["value"] == "学校不通过"
    assert result["data"]["thing3"]["value"] == "原因：单位信息有误，第一行说明 第二行…"
    for message in (invitation, result):
        assert all(len(v["value"]) <= 20 and "\n" not in v["value"] for v in message["data"].values())
