"""The sms package: the real Aliyun SDK client against the emulator over HTTP, templates, per-phone
limits and verification codes in Redis."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from urllib.parse import urlencode

import pytest
from aliyunsdkcore.auth.composer.rpc_signature_composer import get_signed_url
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from emulators.aliyun_sms import aliyun_timestamp, make_emulator_app, signature, string_to_sign
from handlers.errors import status_and_message
from signing.errors import DomainError
from sms import limits, templates
from sms.client import AliyunSmsClient, classify, is_local_endpoint
from sms.templates import TemplateParamError
from tests.support import serving

KEY_ID, SECRET, SIGN = "test_key", "test_secret", "毕业去向登记"


def new_phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


@pytest.fixture
def emulator(io_loop):
    app = make_emulator_app({KEY_ID: SECRET}, site="https://wq.example.cn", hang_seconds=5, notice_day_limit=2)
    for port in serving(app, io_loop):
        app.endpoint = f"127.0.0.1:{port}"
        app.base_url = f"http://127.0.0.1:{port}"
        yield app


@pytest.fixture
def sms(emulator):
    made = []

    def make(key_id=KEY_ID, secret=SECRET):
        client = AliyunSmsClient(key_id, secret, emulator.endpoint, SIGN, read_timeout=1)
        made.append(client)
        return client
    yield make
    for client in made:
        client.close()


async def http(emulator, method, path, body=None, **params):
    url = emulator.base_url + path + ("?" + urlencode(params) if params else "")
    resp = await AsyncHTTPClient().fetch(HTTPRequest(url, method=method, body=body), raise_error=False)
    return resp.code, resp.body.decode()


async def fail_next(emulator, **rule):
    code, _ = await http(emulator, "POST", "/_control/fail", body=json.dumps(rule))
    assert code == 200


def signed_params(**overrides) -> dict:
    params = {
        "AccessKeyId": KEY_ID, "Action": "SendSms", "Format": "JSON", "Version": "2017-05-25",
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": secrets.token_hex(8),
        "Timestamp": aliyun_timestamp(), "PhoneNumbers": new_phone(), "SignName": SIGN,
        "TemplateCode": templates.SMS_BINDING_CODE, "TemplateParam": json.dumps({"code": "123456", "minutes": "5"}),
    }
    params.update(overrides)
    params["Signature"] = signature(SECRET, string_to_sign("GET", params))
    return params


# --- client against the emulator ---------------------------------------------------------------------

@pytest.mark.gen_test
async def test_send_binding_code_is_delivered(emulator, sms):
    phone = new_phone()
    result = await sms().send(phone, *templates.binding_code("482913"))
    assert result.ok and result.code == "OK" and not result.retryable and not result.permanent
    assert result.biz_id and result.request_id
    code, body = await http(emulator, "GET", "/_control/messages", phone=phone)
    [message] = json.loads(body)["messages"]
    assert message["biz_id"] == result.biz_id
    assert message["text"].startswith("【毕业去向登记】您的验证码为482913，5分钟内有效")


@pytest.mark.gen_test
async def test_employer_link_is_rendered_with_the_site_fixed_in_the_template(emulator, sms):
    phone = new_phone()
    result = await sms().send(phone, *templates.employer_agreement_link("李四", "/e/Ab3dK9xY"))
    assert result.ok
    messages = json.loads((await http(emulator, "GET", "/_control/messages", phone=phone))[1])["messages"]
    assert "https://wq.example.cn/e/Ab3dK9xY" in messages[0]["text"]


@pytest.mark.gen_test
@pytest.mark.parametrize("phone, template_code, params, expected", [
    ("12345", templates.SMS_BINDING_CODE, {"code": "123456", "minutes": "5"}, "isv.MOBILE_NUMBER_ILLEGAL"),
    (None, templates.SMS_RECORD_EDITED, {"name": "张三"}, "isv.TEMPLATE_MISSING_PARAMETERS"),
    (None, "SMS_999999999", {"code": "123456"}, "isv.SMS_TEMPLATE_ILLEGAL"),
    (None, templates.SMS_RECORD_EDITED, {"name": "张三", "kind": "网签", "fields": "见 https://x.cn"},
     "isv.PARAM_NOT_SUPPORT_URL"),
])
async def test_business_errors_are_permanent(emulator, sms, phone, template_code, params, expected):
    result = await sms().send(phone or new_phone(), template_code, params)
    assert (result.ok, result.code, result.retryable, result.permanent) == (False, expected, False, True)
    assert result.request_id and result.retry_after is None


@pytest.mark.gen_test
async def test_code_flow_control_per_number_is_retryable_after_a_minute(emulator, sms):
    phone, client = new_phone(), sms()
    assert (await client.send(phone, *templates.binding_code("111111"))).ok
    result = await client.send(phone, *templates.binding_code("222222"))
    assert result.code == "isv.BUSINESS_LIMIT_CONTROL" and result.message == "触发分钟级流控Permits:1"
    assert result.retryable and not result.permanent and result.retry_after == 60
    assert (await client.send(new_phone(), *templates.binding_code("333333"))).ok  # other numbers unaffected


@pytest.mark.gen_test
async def test_notice_day_limit_is_retryable_the_next_day(emulator, sms):
    phone, client = new_phone(), sms()
    message = templates.record_edited("张三", "毕业去向登记", ["单位名称"])
    assert (await client.send(phone, *message)).ok
    assert (await client.send(phone, *message)).ok
    result = await client.send(phone, *message)  # the emulator was started with notice_day_limit=2
    assert result.code == "isv.DAY_LIMIT_CONTROL" and result.retryable
    assert 0 < result.retry_after <= 86400 + 5


@pytest.mark.gen_test
async def test_system_error_is_retryable_and_the_retry_succeeds(emulator, sms):
    phone, client = new_phone(), sms()
    await fail_next(emulator, mode="code", code="isp.SYSTEM_ERROR", phone=phone)
    result = await client.send(phone, *templates.binding_code("123456"))
    assert (result.code, result.message, result.retryable, result.permanent) == ("isp.SYSTEM_ERROR", "系统错误", True, False)
    assert (await client.send(phone, *templates.binding_code("123456"))).ok


@pytest.mark.gen_test
async def test_injected_timeout_is_retryable(emulator, sms):
    await fail_next(emulator, mode="timeout")
    started = time.monotonic()
    result = await sms().send(new_phone(), *templates.binding_code("123456"))
    assert result.code == "SDK.HttpError" and result.retryable and not result.permanent
    assert time.monotonic() - started < 3  # the client's 1 s read timeout, not the 5 s hang
    assert not json.loads((await http(emulator, "GET", "/_control/messages"))[1])["messages"]


@pytest.mark.gen_test
async def test_injected_http_500_is_retryable(emulator, sms):
    await fail_next(emulator, mode="http500")
    result = await sms().send(new_phone(), *templates.binding_code("123456"))
    assert result.code == "InternalError" and result.retryable and result.request_id


@pytest.mark.gen_test
async def test_wrong_secret_is_a_permanent_signature_error_and_logs_no_phone(emulator, sms, caplog):
    phone = new_phone()
    with caplog.at_level(logging.DEBUG):
        result = await sms(secret="not-the-secret").send(phone, *templates.binding_code("482913"))
    assert result.code == "SignatureDoesNotMatch" and result.permanent and not result.retryable
    # Aliyun echoes its string to sign, every parameter included: neither number nor code reaches the logs.
    assert "482913" not in caplog.text and "482913" not in result.message
    assert phone not in caplog.text and phone[:3] + "****" + phone[-4:] in caplog.text


@pytest.mark.gen_test
async def test_unknown_access_key_is_permanent(emulator, sms):
    result = await sms(key_id="nobody").send(new_phone(), *templates.binding_code("123456"))
    assert result.code == "InvalidAccessKeyId.NotFound" and result.permanent


def test_classification_of_codes_without_an_emulator_path():
    assert classify("SignatureDoesNotMatch", "x", http_status=400).permanent
    assert classify("isv.AMOUNT_NOT_ENOUGH", "账户余额不足").permanent
    assert classify("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控").permanent
    assert classify("isp.RAM_PERMISSION_DENY", "RAM权限不足").permanent
    assert classify("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5").retry_after == 3600
    assert 0 < classify("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10").retry_after <= 86400 + 5
    assert classify("Throttling.User", "Request was denied due to user flow control.").retryable
    assert classify("SDK.UnknownServerError", "?", http_status=502).retryable
    assert "13912345678" not in classify("isv.X", "号码13912345678有误").message


def test_scheme_is_http_only_for_a_loopback_emulator():
    assert is_local_endpoint("127.0.0.1:8002") and is_local_endpoint("localhost:8002")
    assert not is_local_endpoint("dysmsapi.aliyuncs.com")
    production = AliyunSmsClient("id", "secret", "dysmsapi.aliyuncs.com", SIGN)
    assert production.scheme == "https"
    production.close()


# --- the emulator's wire protocol, with requests signed by hand ---------------------------------------

@pytest.mark.gen_test
async def test_hand_signed_request_is_accepted_and_its_replay_refused(emulator):
    # Signed by the SDK's own composer, independently of the emulator's code.
    url, _ = get_signed_url({"Action": "SendSms", "Version": "2017-05-25", "PhoneNumbers": new_phone(),
                             "SignName": SIGN, "TemplateCode": templates.SMS_BINDING_CODE,
                             "TemplateParam": '{"code":"654321","minutes":"5"}'},
                            KEY_ID, SECRET, "JSON", "GET", {})
    code, body = await http(emulator, "GET", url)
    assert code == 200 and json.loads(body)["Code"] == "OK"
    code, body = await http(emulator, "GET", url)
    answer = json.loads(body)
    assert code == 400 and answer["Code"] == "SignatureNonceUsed"
    assert answer["RequestId"] and answer["HostId"] and answer["Recommend"]


@pytest.mark.gen_test
async def test_post_form_body_is_verified_like_the_query(emulator):
    params = signed_params()
    params["Signature"] = signature(SECRET, string_to_sign("POST", params))
    code, body = await http(emulator, "POST", "/", body=urlencode(params))
    assert code == 200 and json.loads(body)["Code"] == "OK"


@pytest.mark.gen_test
async def test_timestamp_outside_fifteen_minutes_is_refused(emulator):
    code, body = await http(emulator, "GET", "/", **signed_params(Timestamp=aliyun_timestamp(time.time() - 16 * 60)))
    assert code == 400 and json.loads(body)["Code"] == "InvalidTimeStamp.Expired"
    code, body = await http(emulator, "GET", "/", **signed_params(Timestamp=aliyun_timestamp(time.time() + 16 * 60)))
    assert code == 400 and json.loads(body)["Code"] == "InvalidTimeStamp.Expired"


@pytest.mark.gen_test
async def test_tampered_parameter_breaks_the_signature(emulator):
    params = signed_params()
    params["PhoneNumbers"] = new_phone()
    code, body = await http(emulator, "GET", "/", **params)
    answer = json.loads(body)
    assert code == 400 and answer["Code"] == "SignatureDoesNotMatch"
    assert answer["Message"].split("server string to sign is:")[1] == string_to_sign("GET", params)


@pytest.mark.gen_test
async def test_inbox_shows_messages_escaped_newest_first(emulator, sms):
    phone, client = new_phone(), sms()
    await client.send(phone, templates.SMS_RECORD_EDITED, {"name": "<script>x</script>", "kind": "网签", "fields": "岗位"})
    await client.send(phone, *templates.record_edited("王五", "毕业去向登记", ["单位名称"]))
    code, page = await http(emulator, "GET", "/inbox", phone=phone)
    assert code == 200
    assert "&lt;script&gt;x&lt;/script&gt;同学，学校已修改您的网签信息（岗位）" in page and "<script>" not in page
    assert page.index("王五同学") < page.index("&lt;script&gt;")


# --- templates -----------------------------------------------------------------------------------------

def test_templates_check_their_variables():
    code, params = templates.record_edited("张三", "就业协议书登记", ["单位名称", "单位所在地"])
    assert code == templates.SMS_RECORD_EDITED and params["fields"] == "单位名称、单位所在地"
    _, params = templates.record_edited("张三", "网签", [f"字段名称很长的字段{i}" for i in range(10)])
    assert len(params["fields"]) <= 35 and params["fields"].endswith("等")
    for bad in (lambda: templates.record_edited("张" * 36, "网签", ["岗位"]),
                lambda: templates.record_edited("张三", "网签\n签约", ["岗位"]),
                lambda: templates.record_edited("www.evil.cn", "网签", ["岗位"]),
                lambda: templates.employer_agreement_link("张三", "https://evil.cn/x"),
                lambda: templates.employer_agreement_link("张三", "e/" + "x" * 40),
                lambda: templates.binding_code("1234567")):
        with pytest.raises(TemplateParamError):
            bad()
    assert templates.binding_code("123456") == (templates.SMS_BINDING_CODE, {"code": "123456", "minutes": "5"})
    for template in templates.TEMPLATES.values():
        assert all("${" + v + "}" in template.text for v in template.variables)


# --- per-phone limits and verification codes (Redis) -----------------------------------------------------

@pytest.mark.gen_test
async def test_code_slots_one_per_minute(app):
    phone, t0 = new_phone(), int(time.time())
    await limits.reserve_code_slot(app.redis, phone, now=t0)
    with pytest.raises(DomainError) as refused:
        await limits.reserve_code_slot(app.redis, phone, now=t0 + 30)
    assert refused.value.code == "sms_rate_limited" and "1分钟" in refused.value.message
    assert refused.value.details == {"window": "minute", "retry_after": 30}
    await limits.reserve_code_slot(app.redis, phone, now=t0 + 61)
    assert status_and_message("sms_rate_limited")[0] == 429


@pytest.mark.gen_test
async def test_code_slots_five_per_hour_and_ten_per_day(app):
    phone, t0 = new_phone(), int(time.time())
    for i in range(5):
        await limits.reserve_code_slot(app.redis, phone, now=t0 + i * 61)
    with pytest.raises(DomainError) as refused:
        await limits.reserve_code_slot(app.redis, phone, now=t0 + 5 * 61)
    assert refused.value.details["window"] == "hour" and "1小时" in refused.value.message
    for i in range(5):  # the next hour: five more, ten in the day
        await limits.reserve_code_slot(app.redis, phone, now=t0 + 3601 + i * 61)
    with pytest.raises(DomainError) as refused:
        await limits.reserve_code_slot(app.redis, phone, now=t0 + 7300)
    assert refused.value.details["window"] == "day" and "24小时" in refused.value.message
    await limits.reserve_code_slot(app.redis, phone, now=t0 + 86401)  # the first five have left the day


@pytest.mark.gen_test
async def test_concurrent_code_requests_get_exactly_one_slot(app):
    phone = new_phone()
    outcomes = await asyncio.gather(*(limits.reserve_code_slot(app.redis, phone) for _ in range(20)),
                                    return_exceptions=True)
    assert sum(o is None for o in outcomes) == 1
    assert all(isinstance(o, DomainError) for o in outcomes if o is not None)


@pytest.mark.gen_test
async def test_generic_allow(app):
    key, t0 = f"test:allow:{secrets.token_hex(4)}", time.time()
    assert [await limits.allow(app.redis, key, 3, 10, now=t0 + i) for i in range(4)] == [True, True, True, False]
    assert await limits.allow(app.redis, key, 3, 10, now=t0 + 10.5)


@pytest.mark.gen_test
async def test_code_is_single_use(app):
    phone = new_phone()
    code = await limits.issue_code(app.redis, "bind", phone)
    assert len(code) == 6 and code.isdigit()
    assert code not in str(await app.redis.hgetall(limits.code_key("bind", phone)))  # only a hash is kept
    assert not await limits.verify_code(app.redis, "login", phone, code)  # another purpose
    assert await limits.verify_code(app.redis, "bind", phone, code)
    assert not await limits.verify_code(app.redis, "bind", phone, code)


@pytest.mark.gen_test
async def test_five_wrong_attempts_void_the_code(app):
    phone = new_phone()
    code = await limits.issue_code(app.redis, "bind", phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert not await limits.verify_code(app.redis, "bind", phone, wrong)
    assert await limits.verify_code(app.redis, "bind", phone, code)  # four wrong tries still allowed
    code = await limits.issue_code(app.redis, "bind", phone)
    for _ in range(5):
        assert not await limits.verify_code(app.redis, "bind", phone, wrong)
    assert not await limits.verify_code(app.redis, "bind", phone, code)


@pytest.mark.gen_test
async def test_code_expires_and_a_new_one_replaces_the_old(app):
    phone = new_phone()
    old = await limits.issue_code(app.redis, "bind", phone)
    new = await limits.issue_code(app.redis, "bind", phone)
    assert old == new or not await limits.verify_code(app.redis, "bind", phone, old)
    assert await app.redis.ttl(limits.code_key("bind", phone)) > 290
    await app.redis.pexpire(limits.code_key("bind", phone), 1)
    await asyncio.sleep(0.01)
    assert not await limits.verify_code(app.redis, "bind", phone, new)


@pytest.mark.gen_test
async def test_concurrent_right_answers_verify_once(app):
    phone = new_phone()
    code = await limits.issue_code(app.redis, "bind", phone)
    results = await asyncio.gather(*(limits.verify_code(app.redis, "bind", phone, code) for _ in range(10)))
    assert results.count(True) == 1
