"""Error codes of the notify package (and of the SMS-code binding it sends), with the message a user reads."""
from __future__ import annotations

from signing.errors import Kind, define

define({
    "notify_phone_invalid": (Kind.INVALID, "请输入正确的11位手机号码"),
    "notify_code_required": (Kind.INVALID, "请填写短信验证码"),
})
