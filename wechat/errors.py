"""Error codes of the WeChat pages and endpoints, with the message a user reads."""
from __future__ import annotations

from signing.errors import Kind, define

define({
    "wechat_signature_invalid": (Kind.FORBIDDEN, "消息签名校验失败"),
    "wechat_timestamp_invalid": (Kind.FORBIDDEN, "消息时间戳无效或已过期"),
    "wechat_xml_forbidden": (Kind.INVALID, "消息格式不被接受"),
    "wechat_xml_invalid": (Kind.INVALID, "消息格式有误"),
    "wechat_oauth_state_invalid": (Kind.INVALID, "授权已失效，请从公众号菜单重新进入"),
    "wechat_oauth_code_invalid": (Kind.INVALID, "微信授权码无效或已使用，请从公众号菜单重新进入"),
    "wechat_unavailable": (Kind.UNAVAILABLE, "微信服务暂时不可用，请稍后再试"),
    "wechat_bind_not_graduate": (Kind.FORBIDDEN, "只有毕业生账号可以绑定微信"),
    "wechat_bind_method_unknown": (Kind.INVALID, "不支持的身份验证方式"),
    "wechat_openid_bound_elsewhere": (Kind.CONFLICT, "该微信已绑定其他毕业生账号，请先解除原绑定"),
    "wechat_graduate_bound_elsewhere": (Kind.CONFLICT, "该账号已绑定其他微信，请先在原微信中解除绑定"),
    "wechat_not_bound": (Kind.CONFLICT, "该微信尚未绑定账号"),
    "wechat_jssdk_url_foreign": (Kind.INVALID, "页面地址不属于本平台"),
})
