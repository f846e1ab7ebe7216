"""Error codes of the sms package, with the kind of failure and the message a user reads."""
from __future__ import annotations

from signing.errors import Kind, define

# Specific messages for the hour and day windows are passed as the DomainError message.
RATE_LIMIT_MESSAGES = {
    "minute": "验证码发送过于频繁，请1分钟后再试",
    "hour": "验证码发送次数过多，请1小时后再试",
    "day": "验证码发送次数已达上限，请24小时后再试",
}

define({
    "sms_rate_limited": (Kind.TOO_MANY, RATE_LIMIT_MESSAGES["minute"]),
    "sms_code_invalid": (Kind.INVALID, "验证码错误或已失效，请重新获取"),
    "sms_send_failed": (Kind.UNAVAILABLE, "短信发送失败，请稍后再试"),
})
