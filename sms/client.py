"""Aliyun SMS (dysmsapi SendSms) through the official aliyun-python-sdk-core, with each outcome
classified for the delivery jobs: sent, retry later (and when), or give up."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from server.config import EMULATOR_HOSTS
from signing.personal import mask_phone

log = logging.getLogger("wangqian.sms")
CHINA = timezone(timedelta(hours=8))
API_VERSION = "2017-05-25"
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 5

# Worth another try later: Aliyun or the network failed, or a rate limit that will lift.
RETRYABLE_CODES = {
    "SDK.HttpError", "SDK.InvalidResponse", "InternalError", "ServiceUnavailable",
    "Throttling", "Throttling.User", "Throttling.Api",
    "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "isp.UNKNOWN",
    "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL",
}
# Aliyun-side (isp.) codes are retryable too, except this one: an operator must grant the RAM permission.
PERMANENT_ISP_CODES = {"isp.RAM_PERMISSION_DENY"}
# Everything else is permanent for this message: a bad number, template, parameter or signature, or an
# account problem an operator must fix (isv.AMOUNT_NOT_ENOUGH, isv.OUT_OF_SERVICE, isp.RAM_PERMISSION_DENY,
# InvalidAccessKeyId.NotFound, SignatureDoesNotMatch / InvalidAccessKeySecret, isv.MONTH_LIMIT_CONTROL...).

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_STRING_TO_SIGN = re.compile(r"(string to sign is:)\S+")


def redact(text: str) -> str:
    """Masks phone numbers, and drops the string to sign Aliyun echoes with SignatureDoesNotMatch: it
    carries every parameter, a verification code included."""
    return _PHONE_IN_TEXT.sub(r"\1****\2", _STRING_TO_SIGN.sub(r"\1[redacted]", text or ""))


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


# The SDK logs every server error message at ERROR level.
logging.getLogger("aliyunsdkcore.client").addFilter(_Redact())


@dataclass(frozen=True)
class SendResult:
    ok: bool
    code: str  # Aliyun's Code ("OK", "isv.MOBILE_NUMBER_ILLEGAL"...) or the SDK's ("SDK.HttpError")
    message: str
    biz_id: str | None = None  # Aliyun's receipt id for a sent message
    request_id: str | None = None
    retryable: bool = False
    permanent: bool = False  # will never succeed as it is: do not retry
    retry_after: int | None = None  # seconds; None means the caller's usual backoff


def _seconds_to_next_china_day(now: datetime | None = None) -> int:
    now = (now or datetime.now(CHINA)).astimezone(CHINA)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return int((tomorrow - now).total_seconds())


def _retry_after(code: str, message: str) -> int | None:
    if code == "isv.DAY_LIMIT_CONTROL":
        return _seconds_to_next_china_day()
    if code == "isv.BUSINESS_LIMIT_CONTROL":  # e.g. 触发分钟级流控Permits:1 / 小时级 / 天级
        if "天级" in message:
            return _seconds_to_next_china_day()
        return 3600 if "小时级" in message else 60
    if code.startswith("Throttling"):
        return 60
    return None


def classify(code: str, message: str, *, http_status: int | None = None, biz_id: str | None = None,
             request_id: str | None = None) -> SendResult:
    message = redact(message)
    if code == "OK":
        return SendResult(True, code, message, biz_id, request_id)
    retryable = (code in RETRYABLE_CODES or (http_status or 0) >= 500
                 or (code.startswith("isp.") and code not in PERMANENT_ISP_CODES))
    return SendResult(False, code, message, biz_id, request_id, retryable=retryable, permanent=not retryable,
                      retry_after=_retry_after(code, message) if retryable else None)


def is_local_endpoint(endpoint: str) -> bool:
    host = urlsplit("//" + endpoint).hostname or ""
    if host in EMULATOR_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AliyunSmsClient:
    """One per process. `endpoint` is host[:port] ("dysmsapi.aliyuncs.com", or the emulator's
    "127.0.0.1:8002"); the scheme is http for a loopback emulator, https otherwise."""

    def __init__(self, access_key_id: str, access_key_secret: str, endpoint: str, sign_name: str, *,
                 scheme: str | None = None, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, max_workers: int = 8):
        if "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        self.endpoint = endpoint.rstrip("/")
        self.scheme = scheme or ("http" if is_local_endpoint(self.endpoint) else "https")
        self.sign_name = sign_name
        # The SDK sends everything through HTTP(S)_PROXY when set, ignoring NO_PROXY: never for the emulator.
        no_proxy = {"http": None, "https": None} if is_local_endpoint(self.endpoint) else None
        # Retries are the delivery jobs' business (with backoff, visible): the SDK's own would sleep in
        # a worker thread and hide attempts.
        self._acs = AcsClient(access_key_id, access_key_secret, "cn-hangzhou", auto_retry=False,
                              connect_timeout=connect_timeout, timeout=read_timeout, pool_size=max_workers,
                              proxy=no_proxy)
        # Own threads: a slow Aliyun must not starve the default executor (password hashing etc.).
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aliyun-sms")

    @classmethod
    def from_settings(cls, settings, **kwargs) -> AliyunSmsClient:
        return cls(settings.aliyun_access_key_id, settings.aliyun_access_key_secret,
                   settings.aliyun_sms_endpoint, settings.sms_sign_name, **kwargs)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._acs.session.close()

    def _request(self, phone: str, template_code: str, params: dict, out_id: str | None) -> CommonRequest:
        request = CommonRequest(domain=self.endpoint, version=API_VERSION, action_name="SendSms")
        request.set_method("POST")
        request.set_protocol_type(self.scheme)
        # Business parameters go in the signed form body rather than the URL, so the number never
        # appears in URLs that HTTP libraries put in their error messages and logs.
        request.add_body_params("PhoneNumbers", phone)
        request.add_body_params("SignName", self.sign_name)
        request.add_body_params("TemplateCode", template_code)
        request.add_body_params("TemplateParam", json.dumps(params, ensure_ascii=False))
        if out_id:
            request.add_body_params("OutId", out_id)
        return request

    def _send_blocking(self, phone: str, template_code: str, params: dict, out_id: str | None) -> SendResult:
        try:
            body = self._acs.do_action_with_exception(self._request(phone, template_code, params, out_id))
        except ServerException as e:  # HTTP 4xx/5xx from Aliyun
            return classify(e.error_code, e.message, http_status=e.http_status, request_id=e.request_id)
        except ClientException as e:  # SDK.HttpError: timeout, refused connection...
            return classify(e.error_code, e.message)
        try:
            answer = json.loads(body)
            code, message = str(answer["Code"]), str(answer.get("Message", ""))
        except (ValueError, KeyError, TypeError):
            return classify("SDK.InvalidResponse", "响应不是有效的JSON")
        return classify(code, message, biz_id=answer.get("BizId"), request_id=answer.get("RequestId"))

    def _sent_blocking(self, phone: str, out_id: str, days: list[str]) -> bool | None:
        for day in days:
            page, seen = 1, 0
            while True:
                request = CommonRequest(domain=self.endpoint, version=API_VERSION, action_name="QuerySendDetails")
                request.set_method("POST")
                request.set_protocol_type(self.scheme)
                for name, value in (("PhoneNumber", phone), ("SendDate", day), ("PageSize", "50"),
                                    ("CurrentPage", str(page))):
                    request.add_body_params(name, value)
                try:
                    answer = json.loads(self._acs.do_action_with_exception(request))
                    if answer.get("Code") != "OK":
                        return None
                    details = answer.get("SmsSendDetailDTOs", {}).get("SmsSendDetailDTO", [])
                    total = int(answer.get("TotalCount", 0))
                except (ServerException, ClientException, ValueError, TypeError, AttributeError):
                    return None
                if any(d.get("OutId") == out_id and d.get("SendStatus") in (1, 3) for d in details):
                    return True  # waiting for the receipt (1) or delivered (3): it went out
                seen += len(details)
                if not details or seen >= total:
                    break
                page += 1
        return False

    async def was_sent(self, phone: str, out_id: str, since: datetime) -> bool | None:
        """Did a SendSms with this OutId go out to this number (QuerySendDetails, from `since`'s day to today,
        Beijing time)? True, False, or None when Aliyun cannot be asked now."""
        days = sorted({since.strftime("%Y%m%d"), datetime.now(CHINA).strftime("%Y%m%d")})
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._sent_blocking, phone, out_id,
                                                                 days)

    async def send(self, phone: str, template_code: str, params: dict, *, out_id: str | None = None) -> SendResult:
        """Send one SMS. Never raises for Aliyun or network failures: read the SendResult."""
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, self._send_blocking, phone, template_code,
                                            params, out_id)
        if result.ok:
            log.info("sms %s to %s sent, biz_id %s", template_code, mask_phone(phone), result.biz_id)
        else:
            log.warning("sms %s to %s failed: %s %s (retryable=%s)", template_code, mask_phone(phone),
                        result.code, result.message, result.retryable)
        return result
