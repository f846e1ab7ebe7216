"""Error codes of the upload endpoints, the agreement documents and the employer's SMS links, registered with
handlers/errors.py on import (the image checks' own codes live in documents/errors.py)."""
from __future__ import annotations

from handlers import errors

errors.register({
    "upload_form_invalid": (400, "上传的内容格式不正确，请重新选择照片上传"),
    "upload_file_missing": (400, "请选择要上传的照片"),
    "wechat_media_invalid": (400, "微信中的图片已失效或不存在，请重新选择照片上传"),
    "agreement_unknown": (404, "未找到该就业协议，请核对二维码或链接是否完整"),
    "employer_link_not_allowed": (409, "只有就业协议审核通过、等待回传盖章协议书时，才能请用人单位协助回传"),
    "employer_link_rate_limited": (429, "发送过于频繁，请稍后再试"),
    "employer_link_invalid": (404, "链接无效，请核对短信中的链接是否完整"),
    "employer_link_expired": (410, "链接已过期，请联系毕业生重新发送"),
    "employer_link_superseded": (410, "毕业生已重新发送链接，此链接已失效，请使用最新短信中的链接"),
    "employer_link_used": (410, "盖章协议书已通过此链接回传，链接已失效；如需重新回传，请联系毕业生重新发送"),
    "employer_link_closed": (410, "该协议当前无需回传盖章协议书，链接已失效"),
})
