"""A local stand-in for Aliyun's SMS API (dysmsapi, SendSms 2017-05-25) speaking its RPC wire protocol:
POP signature v1 (HMAC-SHA1), timestamp window, nonce replay refusal, Aliyun's business error codes and
default per-number flow control. It keeps what it "delivered" so tests and the demo can read it
(GET /inbox), and can be told to fail (POST /_control/fail) to exercise the client's error paths.

All state lives on the application object, so several emulators can run side by side."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import tornado.template
import tornado.web

from sms.templates import MAX_VARIABLE_LENGTH, TEMPLATES, URL_RE

API_VERSION = "2017-05-25"
TIMESTAMP_WINDOW = 15 * 60  # Aliyun accepts a request's Timestamp within 15 minutes
CHINA = timezone(timedelta(hours=8))
_PHONE_RE = re.compile(r"^(\+?86|0086)?(1[3-9]\d{9})$")
REQUIRED = ("AccessKeyId", "Action", "Signature", "SignatureMethod", "SignatureNonce", "SignatureVersion",
            "Timestamp", "Version")

# Aliyun's documented Message for each business Code (HTTP 200).
BUSINESS_MESSAGES = {
    "OK": "OK",
    "isp.SYSTEM_ERROR": "系统错误",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过限制",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少对应参数值",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
    "isv.INVALID_PARAMETERS": "参数格式不正确",
    "isv.PARAM_LENGTH_LIMIT": "参数超出长度限制",
    "isv.PARAM_NOT_SUPPORT_URL": "不支持URL",
    "isv.DAY_LIMIT_CONTROL": "触发日发送限额",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "isv.BLACK_KEY_CONTROL_LIMIT": "黑名单管控",
}
# Aliyun's default flow control for verification codes: same signature, same number.
CODE_WINDOWS = ((60, 1, "分钟级"), (3600, 5, "小时级"), (86400, 10, "天级"))


def percent_encode(value: str) -> str:
    """Aliyun's rule: RFC 3986 unreserved characters kept, everything else %XX of UTF-8, space as %20."""
    return quote(str(value), safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in sorted(params.items()) if k != "Signature")
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new((secret + "&").encode(), text.encode(), hashlib.sha1).digest()).decode()


def aliyun_timestamp(at: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if at is None else at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class EmulatedSms:
    phone: str
    sign_name: str
    template_code: str
    params: dict
    text: str
    biz_id: str
    sent_at: float
    out_id: str | None = None


class SmsEmulator(tornado.web.Application):
    def __init__(self, access_keys: dict[str, str], *, site: str = "http://127.0.0.1:8000",
                 hang_seconds: float = 10.0, notice_day_limit: int = 40):
        self.access_keys = dict(access_keys)
        self.site = site  # the public base URL, part of approved template texts
        self.hang_seconds = hang_seconds  # "timeout" failures: longer than the client's read timeout
        self.notice_day_limit = notice_day_limit
        self.reset()
        super().__init__([
            (r"/", SendSmsHandler),
            (r"/_control/fail", FailControlHandler),
            (r"/_control/reset", ResetControlHandler),
            (r"/_control/messages", MessagesControlHandler),
            (r"/inbox", InboxHandler),
        ])

    def reset(self) -> None:
        self.messages: list[EmulatedSms] = []
        self.failures: list[dict] = []
        self.nonces: dict[tuple[str, str], float] = {}
        self.send_times: dict[tuple, list[float]] = defaultdict(list)

    def take_failure(self, phones: list[str]) -> dict | None:
        for rule in self.failures:
            if rule.get("phone") in (None, "", *phones):
                rule["times"] -= 1
                if rule["times"] <= 0:
                    self.failures.remove(rule)
                return rule
        return None

    def nonce_seen(self, access_key_id: str, nonce: str, now: float) -> bool:
        self.nonces = {k: t for k, t in self.nonces.items() if now - t < TIMESTAMP_WINDOW}
        if (access_key_id, nonce) in self.nonces:
            return True
        self.nonces[(access_key_id, nonce)] = now
        return False


def make_emulator_app(access_keys: dict[str, str], **options) -> SmsEmulator:
    """access_keys: {AccessKeyId: AccessKeySecret}. options: site (public base URL for rendering),
    hang_seconds (how long a "timeout" failure hangs), notice_day_limit (per number and template)."""
    return SmsEmulator(access_keys, **options)


class _EmulatorHandler(tornado.web.RequestHandler):
    application: SmsEmulator

    def write_json(self, status: int, body: dict | list) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json;charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class SendSmsHandler(_EmulatorHandler):
    def initialize(self) -> None:
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def get(self) -> None:
        await self.handle()

    async def post(self) -> None:
        await self.handle()

    def params(self) -> dict[str, str]:
        params = {}
        for source in (self.request.query_arguments, self.request.body_arguments):
            for name, values in source.items():
                params[name] = values[-1].decode("utf-8")
        return params

    def pop_error(self, status: int, code: str, message: str) -> None:
        self.write_json(status, {
            "RequestId": str(uuid.uuid4()).upper(), "HostId": "dysmsapi.aliyuncs.com", "Code": code,
            "Message": message, "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi",
        })

    def business(self, code: str, message: str | None = None, biz_id: str | None = None) -> None:
        body = {"Code": code, "Message": message or BUSINESS_MESSAGES.get(code, code),
                "RequestId": str(uuid.uuid4()).upper()}
        if biz_id:
            body["BizId"] = biz_id
        self.write_json(200, body)

    async def handle(self) -> None:
        try:
            params = self.params()
        except UnicodeDecodeError:
            return self.pop_error(400, "InvalidParameter", "Parameters must be UTF-8.")
        if self.authentication_failed(params):
            return
        if params["Action"] == "QuerySendDetails":
            return self.query_send_details(params)
        phones = [p.strip() for p in params.get("PhoneNumbers", "").split(",") if p.strip()]
        rule = self.application.take_failure(phones)
        if rule and rule["mode"] == "timeout":
            try:  # hold the answer until the client gives up (or the hang ends)
                await asyncio.wait_for(self.closed.wait(), self.application.hang_seconds)
                return
            except TimeoutError:
                return self.pop_error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
        if rule and rule["mode"] == "http500":
            return self.pop_error(500, "InternalError", "The request processing has failed due to some unknown error.")
        if rule:
            return self.business(rule["code"], rule.get("message"))
        self.send_sms(phones, params)

    def authentication_failed(self, params: dict[str, str]) -> bool:
        """Answers with Aliyun's POP error and returns True when the request is not properly signed."""
        for name in REQUIRED:
            if not params.get(name):
                self.pop_error(400, "MissingParameter",
                               f'The input parameter "{name}" that is mandatory for processing this request is not supplied.')
                return True
        if params["SignatureMethod"] != "HMAC-SHA1":
            self.pop_error(400, "InvalidSignatureMethod", "Specified signature method is not valid.")
            return True
        if params["SignatureVersion"] != "1.0":
            self.pop_error(400, "InvalidSignatureVersion", "Specified signature version is not valid.")
            return True
        if params.get("Format", "JSON").upper() != "JSON":
            self.pop_error(400, "InvalidParameter", "This emulator answers Format=JSON only.")
            return True
        secret = self.application.access_keys.get(params["AccessKeyId"])
        if secret is None:
            self.pop_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
            return True
        expected = string_to_sign(self.request.method, params)
        if not hmac.compare_digest(signature(secret, expected), params["Signature"]):
            # The SDK compares this server string to sign with its own to tell a wrong secret apart.
            self.pop_error(400, "SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation. server string to sign is:" + expected)
            return True
        try:
            sent_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            self.pop_error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
            return True
        now = time.time()
        if abs(now - sent_at.timestamp()) > TIMESTAMP_WINDOW:
            self.pop_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
            return True
        if self.application.nonce_seen(params["AccessKeyId"], params["SignatureNonce"], now):
            self.pop_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            return True
        if params["Action"] not in ("SendSms", "QuerySendDetails"):
            self.pop_error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
            return True
        if params["Version"] != API_VERSION:
            self.pop_error(400, "InvalidVersion", "Specified parameter Version is not valid.")
            return True
        return False

    def send_sms(self, phones: list[str], params: dict[str, str]) -> None:
        if not phones or len(phones) > 1000:
            return self.business("isv.MOBILE_COUNT_OVER_LIMIT" if phones else "isv.MOBILE_NUMBER_ILLEGAL")
        matches = [_PHONE_RE.match(p) for p in phones]
        if not all(matches):
            return self.business("isv.MOBILE_NUMBER_ILLEGAL")
        phones = [m.group(2) for m in matches]
        sign_name = params.get("SignName", "").strip()
        if not sign_name:
            return self.business("isv.SMS_SIGNATURE_ILLEGAL")
        template = TEMPLATES.get(params.get("TemplateCode", ""))
        if template is None:
            return self.business("isv.SMS_TEMPLATE_ILLEGAL")
        try:
            variables = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self.business("isv.INVALID_JSON_PARAM")
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            return self.business("isv.INVALID_JSON_PARAM")
        for name in template.variables:
            value = variables.get(name, "")
            if not value:
                return self.business("isv.TEMPLATE_MISSING_PARAMETERS")
            if len(value) > MAX_VARIABLE_LENGTH or (template.kind == "code" and name == "code" and len(value) > 6):
                return self.business("isv.PARAM_LENGTH_LIMIT")
            if URL_RE.search(value):
                return self.business("isv.PARAM_NOT_SUPPORT_URL")
            if "\n" in value or "\r" in value:
                return self.business("isv.INVALID_PARAMETERS")
        refusal = self.flow_control(phones, sign_name, template)
        if refusal:
            return self.business(*refusal)
        biz_id = f"{secrets.randbelow(10**18):018d}^0"
        text = f"【{sign_name}】" + template.render(variables, self.application.site)
        for phone in phones:
            self.application.messages.append(
                EmulatedSms(phone, sign_name, template.code, variables, text, biz_id, time.time(),
                            params.get("OutId") or None))
        self.business("OK", biz_id=biz_id)

    def query_send_details(self, params: dict[str, str]) -> None:
        """QuerySendDetails: what one number was sent on one day (SendDate yyyyMMdd, Beijing time), paged, each
        with its OutId, so a sender can tell whether a message whose answer it lost went out."""
        match = _PHONE_RE.match(params.get("PhoneNumber", "").strip())
        if not match:
            return self.business("isv.MOBILE_NUMBER_ILLEGAL")
        try:
            day = datetime.strptime(params.get("SendDate", ""), "%Y%m%d").date()
            size, page = int(params.get("PageSize", "10")), int(params.get("CurrentPage", "1"))
        except ValueError:
            return self.business("isv.INVALID_PARAMETERS")
        if not (1 <= size <= 50 and page >= 1):
            return self.business("isv.INVALID_PARAMETERS")
        biz_id = params.get("BizId") or None
        sent = [m for m in self.application.messages if m.phone == match.group(2)
                and datetime.fromtimestamp(m.sent_at, CHINA).date() == day and biz_id in (None, m.biz_id)]
        details = [{"PhoneNum": m.phone, "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": m.template_code,
                    "Content": m.text, "OutId": m.out_id or "",
                    "SendDate": datetime.fromtimestamp(m.sent_at, CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": datetime.fromtimestamp(m.sent_at, CHINA).strftime("%Y-%m-%d %H:%M:%S")}
                   for m in sent[(page - 1) * size:page * size]]
        self.write_json(200, {"Code": "OK", "Message": "OK", "RequestId": str(uuid.uuid4()).upper(),
                              "TotalCount": len(sent), "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}})

    def flow_control(self, phones: list[str], sign_name: str, template) -> tuple[str, str] | None:
        """Aliyun's default per-number limits; counts the send only when every number passes."""
        now = time.time()
        if template.kind == "code":
            keys = [(phone, sign_name, "code") for phone in phones]
            windows = CODE_WINDOWS
            refused_code = "isv.BUSINESS_LIMIT_CONTROL"
        else:
            keys = [(phone, sign_name, template.code) for phone in phones]
            windows = ((86400, self.application.notice_day_limit, "天级"),)
            refused_code = "isv.DAY_LIMIT_CONTROL"
        times = self.application.send_times
        for key in keys:
            times[key] = [t for t in times[key] if now - t < 86400]
            for window, permits, label in windows:
                if sum(1 for t in times[key] if now - t < window) >= permits:
                    message = f"触发{label}流控Permits:{permits}" if template.kind == "code" else None
                    return refused_code, message
        for key in keys:
            times[key].append(now)
        return None


class FailControlHandler(_EmulatorHandler):
    """{"mode": "timeout"|"http500"|"code", "code": "isp.SYSTEM_ERROR", "message": ..., "times": 1,
    "phone": optional}: the next `times` SendSms calls (to that phone) fail so."""

    def post(self) -> None:
        try:
            rule = json.loads(self.request.body or b"{}")
        except ValueError:
            rule = {}
        if rule.get("mode") not in ("timeout", "http500", "code") or (rule["mode"] == "code" and not rule.get("code")):
            return self.write_json(400, {"error": "mode must be timeout, http500 or code (with a code)"})
        rule["times"] = int(rule.get("times") or 1)
        self.application.failures.append(rule)
        self.write_json(200, {"ok": True})


class ResetControlHandler(_EmulatorHandler):
    def post(self) -> None:
        self.application.reset()
        self.write_json(200, {"ok": True})


class MessagesControlHandler(_EmulatorHandler):
    def get(self) -> None:
        phone = self.get_argument("phone", None)
        found = [asdict(m) for m in reversed(self.application.messages) if phone in (None, m.phone)]
        self.write_json(200, {"messages": found})


_INBOX = tornado.template.Template("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>短信收件箱（模拟）</title>
<style>body{font-family:sans-serif;margin:1em;max-width:40em}li{margin:.6em 0;padding:.6em;background:#f3f6f3;
border-radius:.5em;list-style:none}small{color:#666}ul{padding:0}</style></head>
<body><h1>短信收件箱（阿里云短信模拟）</h1>
<form><input name="phone" value="{{ phone or '' }}" placeholder="手机号"> <button>筛选</button></form>
{% if not messages %}<p>还没有短信。</p>{% end %}
<ul>{% for m in messages %}<li><small>{{ m.phone }} · {{ when(m.sent_at) }} · {{ m.template_code }}</small>
<div>{{ m.text }}</div></li>{% end %}</ul></body></html>""")


class InboxHandler(_EmulatorHandler):
    """What each emulated phone received, newest first: lets a person read the demo's SMS."""

    def get(self) -> None:
        phone = self.get_argument("phone", None) or None
        messages = [m for m in reversed(self.application.messages) if phone in (None, m.phone)]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_INBOX.generate(messages=messages, phone=phone, when=lambda t: datetime.fromtimestamp(
            t, CHINA).strftime("%Y-%m-%d %H:%M:%S")))
