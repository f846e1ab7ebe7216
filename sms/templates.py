"""Every SMS the platform sends, in one place: Aliyun template codes, their approved text, and one
function per message that checks the variables and returns (template_code, params) for the client.

The codes below are placeholders for the ones Aliyun approves for the production account; the emulator
uses the same table to validate and render what it receives."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Aliyun template codes (change here when the real templates are approved).
SMS_RECORD_EDITED = "SMS_300000001"
SMS_EMPLOYER_AGREEMENT_LINK = "SMS_300000002"
SMS_BINDING_CODE = "SMS_300000003"
# The graduate's notifications, each with its reason and next step (sent when WeChat cannot reach them).
SMS_AUDIT_RESULT = "SMS_300000005"
SMS_INVITATION = "SMS_300000006"
SMS_CANCEL_REQUEST = "SMS_300000007"
SMS_CANCEL_ANSWER = "SMS_300000008"
SMS_FORCED_CANCELLATION = "SMS_300000009"
SMS_EMPLOYER_UPLOADED = "SMS_300000010"

# Aliyun's rules for variables: at most 35 characters each (a verification code 4-6 letters or
# digits), no line breaks, no URLs (domains must be fixed in the approved template text).
MAX_VARIABLE_LENGTH = 35
CODE_VALID_MINUTES = 5
URL_RE = re.compile(r"(https?://|www\.|\w\.(com|cn|net|org|top|xyz|edu|gov)\b)", re.IGNORECASE)
_LINK_PATH_RE = re.compile(r"^[A-Za-z0-9_\-/]{1,35}$")
_CODE_RE = re.compile(r"^[A-Za-z0-9]{4,6}$")


class TemplateParamError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    code: str
    name: str
    kind: str  # "code" (verification code) or "notice": Aliyun flow control differs
    text: str  # ${var} are Aliyun variables; {site} is the public base URL fixed at approval time
    variables: tuple[str, ...]

    def render(self, params: dict, site: str = "") -> str:
        text = self.text.replace("{site}", site.rstrip("/"))
        for var in self.variables:
            text = text.replace("${" + var + "}", str(params.get(var, "")))
        return text


TEMPLATES: dict[str, Template] = {
    t.code: t
    for t in (
        Template(
            SMS_RECORD_EDITED, "学校修改记录通知", "notice",
            "${name}同学，学校已修改您的${kind}信息（${fields}），请进入“毕业去向登记”公众号查看。"
            "如有疑问请联系学校就业部门。",
            ("name", "kind", "fields"),
        ),
        Template(
            SMS_EMPLOYER_AGREEMENT_LINK, "用人单位协助回传", "notice",
            "${name}同学的就业协议书需贵单位盖章回传，请打开 {site}/${path} 查看并下载协议，"
            "盖章后拍照上传。",
            ("name", "path"),
        ),
        Template(
            SMS_AUDIT_RESULT, "审核结果通知", "notice",
            "${name}同学，您的${item}${result}，${detail}。请进入“毕业去向登记”公众号${next}。",
            ("name", "item", "result", "detail", "next"),
        ),
        Template(
            SMS_INVITATION, "签约邀请通知", "notice",
            "${name}同学，${unit}向您发出签约邀请，请于${deadline}前进入“毕业去向登记”公众号接受或拒绝。",
            ("name", "unit", "deadline"),
        ),
        Template(
            SMS_CANCEL_REQUEST, "单位解约申请通知", "notice",
            "${name}同学，${unit}申请与您解除就业协议，原因：${reason}。请进入“毕业去向登记”公众号同意或拒绝。",
            ("name", "unit", "reason"),
        ),
        Template(
            SMS_CANCEL_ANSWER, "单位拒绝解约通知", "notice",
            "${name}同学，${unit}拒绝了您的解约申请，就业协议继续有效。详情请进入“毕业去向登记”公众号查看。",
            ("name", "unit"),
        ),
        Template(
            SMS_FORCED_CANCELLATION, "学校强制解约通知", "notice",
            "${name}同学，学校已解除您与${unit}的就业协议，说明：${explanation}。详情请进入“毕业去向登记”公众号查看。",
            ("name", "unit", "explanation"),
        ),
        Template(
            SMS_EMPLOYER_UPLOADED, "单位回传协议通知", "notice",
            "${name}同学，${unit}已回传盖章的就业协议书，等待学校审核。详情请进入“毕业去向登记”公众号查看。",
            ("name", "unit"),
        ),
        Template(
            SMS_BINDING_CODE, "绑定验证码", "code",
            "您的验证码为${code}，${minutes}分钟内有效，用于绑定毕业去向登记账号，请勿泄露给他人。",
            ("code", "minutes"),
        ),
    )
}


def check_variable(name: str, value: str) -> str:
    """The value as Aliyun accepts it, or TemplateParamError saying why not."""
    value = str(value).strip()
    if not value:
        raise TemplateParamError(f"短信变量{name}不能为空")
    if "\n" in value or "\r" in value:
        raise TemplateParamError(f"短信变量{name}不能包含换行")
    if len(value) > MAX_VARIABLE_LENGTH:
        raise TemplateParamError(f"短信变量{name}超过{MAX_VARIABLE_LENGTH}个字符")
    if URL_RE.search(value):
        raise TemplateParamError(f"短信变量{name}不能包含网址")
    return value


def join_within_limit(items: list[str], sep: str = "、", limit: int = MAX_VARIABLE_LENGTH) -> str:
    """As many items as fit in one variable, then 等 (e.g. 单位名称、岗位、薪酬等)."""
    out = ""
    for i, item in enumerate(items):
        candidate = item if not out else out + sep + item
        rest = len(items) - i - 1
        if len(candidate) + (1 if rest else 0) > limit:
            return out + "等" if out else item[: limit - 1] + "等"
        out = candidate
    return out


def record_edited(name: str, kind_label: str, fields_changed: list[str]) -> tuple[str, dict]:
    """A school changed one of the graduate's records (签约/去向信息)."""
    fields = join_within_limit([f.strip() for f in fields_changed if f and f.strip()]) or "相关信息"
    return SMS_RECORD_EDITED, {
        "name": check_variable("name", name),
        "kind": check_variable("kind", kind_label),
        "fields": check_variable("fields", fields),
    }


def employer_agreement_link(graduate_name: str, link_path: str) -> tuple[str, dict]:
    """The agreement link for an employer (用人单位协助回传). link_path is relative to PUBLIC_BASE_URL
    (e.g. "e/Ab3dK9"): Aliyun refuses URLs in variables, so the site is part of the template text."""
    path = link_path.lstrip("/")
    if not _LINK_PATH_RE.match(path):
        raise TemplateParamError("链接路径只能包含字母、数字、-、_、/，且不超过35个字符")
    return SMS_EMPLOYER_AGREEMENT_LINK, {"name": check_variable("name", graduate_name), "path": path}


def binding_code(code: str, valid_minutes: int = CODE_VALID_MINUTES) -> tuple[str, dict]:
    """The verification code that proves the phone when binding a WeChat identity."""
    if not _CODE_RE.match(code or ""):
        raise TemplateParamError("验证码须为4到6位字母或数字")
    return SMS_BINDING_CODE, {"code": code, "minutes": str(int(valid_minutes))}
