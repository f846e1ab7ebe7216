"""Error codes of the notify package (and of the SMS-code binding it sends), with the message a user reads."""
from __future__ import annotations

from handlers.errors import register

register({
    "notify_phone_invalid": (400, "请输入正确的11位手机号码"),
    "notify_code_required": (400, "请填写短信验证码"),
})
