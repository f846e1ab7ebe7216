"""Every notification a graduate receives, in one place: for each outbox 'notify' template (the payload's
"template"), the WeChat template message (id from Settings, keywords under WeChat's 2023 rules), the link
back to the record, and the SMS that goes with it (record edits) or replaces it (no WeChat).

WeChat's category templates (2023): no first/remark; each keyword value on one line and within its type's
limit (thing ≤20 characters, phrase ≤5 Chinese characters, character_string ≤32 ASCII, time a date/time).
fit() makes any text obey these, so a rendered message is never refused for its data (errcode 47003)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sms import templates as sms_templates
from sms.templates import SMS_NOTICE

FIELD_LABELS = {"job_category": "职位类别", "unit_nature": "单位性质", "unit_industry": "单位行业",
                "fields": "去向信息", "type_code": "去向类型", "note": "备注"}
RESULT_PHRASES = {"pass": "审核通过", "pass_unilateral": "审核通过", "return": "退回修改", "reject": "审核不通过"}
AUDIT_STATES = {"online_audit", "agreement_audit", "signing_audit", "registration_audit", "destination_audit",
                "cancel_audit_online", "cancel_audit"}
ELLIPSIS = "…"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_TIME = re.compile(r"[0-9年月日时分秒:：\-/ ~.]{1,40}")
_WHITESPACE = re.compile(r"\s+")



def one_line(value) -> str:
    """Text without line breaks, tabs or invisible format characters, spaces collapsed."""
    text = "" if value is None else str(value)
    text = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in text)
    return _WHITESPACE.sub(" ", text).strip()


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def fit(key: str, value, fallback: str) -> str:
    """The value as WeChat accepts it for keyword `key` (thing1, phrase2, time3...), else the fallback."""
    kind = re.sub(r"\d+$", "", key)
    text = one_line(value)
    if kind == "thing":
        return cut(text, 20) or fallback
    if kind == "phrase":
        return "".join(_HAN.findall(text))[:5] or fallback
    if kind == "character_string":
        ascii_text = "".join(ch for ch in text if " " <= ch <= "~")
        return (ascii_text[:29] + "..." if len(ascii_text) > 32 else ascii_text) or fallback
    if kind in ("time", "date"):
        return text if _TIME.fullmatch(text) and re.search(r"\d", text) else fallback
    raise ValueError(f"keyword type {kind} is not used by our templates")


def when(value) -> str:
    """A datetime, or the "YYYY-MM-DD HH:MM:SS" text the outbox payload carries, as YYYY-MM-DD HH:MM."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value or "")[:16]


# -- the keyword values of each notification: (payload, context) -> values in keyword order ------------
# context: graduate_name, school_name, department, position_title, at (when the change happened)

def _invitation(p: dict, c: dict) -> tuple:
    return p.get("unit_name"), c.get("position_title"), when(p.get("deadline"))


def _is_cancellation(p: dict) -> bool:
    return p.get("state") in ("cancelled", "cancel_returned") or (p.get("action") == "reject" and p.get("state") == "signed")


def _audit_result(p: dict, c: dict) -> tuple:
    item = (p.get("kind_text") or "") + ("解约申请" if _is_cancellation(p) else "")
    result = RESULT_PHRASES.get(p.get("action"), "已处理")
    if p.get("action") == "pass" and p.get("state") in AUDIT_STATES:
        result = "学院已通过"  # department then school: the school audits next
    note = "：".join(one_line(x) for x in (p.get("reason"), p.get("explanation")) if x) or p.get("status_text")
    return item, result, note


def changed_labels(p: dict) -> list[str]:
    return [FIELD_LABELS.get(f, f) for f in p.get("changed_fields") or []]


def _record_edited(p: dict, c: dict) -> tuple:
    by = c.get("school_name") if p.get("actor_role") == "school" else c.get("department") or c.get("school_name")
    return "、".join(changed_labels(p)), by, when(c.get("at"))


def _cancel_request(p: dict, c: dict) -> tuple:
    reason = one_line(p.get("reason"))
    return p.get("unit_name"), "单位申请解约" + (f"：{reason}" if reason else ""), when(c.get("at"))


def _cancel_answer(p: dict, c: dict) -> tuple:
    return p.get("unit_name"), "单位拒绝解约，协议继续有效", when(c.get("at"))


def _forced_cancellation(p: dict, c: dict) -> tuple:
    return f"{p.get('kind_text') or ''}强制解约", p.get("explanation") or p.get("reason"), when(c.get("at"))


def _employer_uploaded(p: dict, c: dict) -> tuple:
    return "用人单位已回传盖章协议书", p.get("unit_name"), when(c.get("at"))


@dataclass(frozen=True)
class Notification:
    setting: str  # the Settings field holding the WeChat template id
    title: str  # the template's title, as chosen in the official account's template library
    keywords: tuple[tuple[str, str, str], ...]  # (key, label, fallback value) in display order
    values: Callable[[dict, dict], tuple]


NOTIFICATIONS: dict[str, Notification] = {
    "invitation": Notification("wechat_tpl_invitation", "签约邀请通知", (
        ("thing1", "用人单位", "用人单位"), ("thing2", "岗位", "详见签约邀请"), ("time3", "应约截止时间", "")),
        _invitation),
    "audit_result": Notification("wechat_tpl_audit_result", "审核结果通知", (
        ("thing1", "审核事项", "签约及毕业去向"), ("phrase2", "审核结果", "已处理"), ("thing3", "说明", "请查看详情")),
        _audit_result),
    "record_edited": Notification("wechat_tpl_record_edited", "信息变更通知", (
        ("thing1", "变更事项", "签约及毕业去向信息"), ("thing2", "操作单位", "学校"), ("time3", "变更时间", "")),
        _record_edited),
    "cancel_request": Notification("wechat_tpl_cancel_request", "解约申请通知", (
        ("thing1", "用人单位", "用人单位"), ("thing2", "申请事项", "单位申请解约"), ("time3", "申请时间", "")),
        _cancel_request),
    "cancel_answer": Notification("wechat_tpl_cancel_answer", "解约申请通知", (
        ("thing1", "用人单位", "用人单位"), ("thing2", "申请事项", "单位拒绝解约"), ("time3", "申请时间", "")),
        _cancel_answer),
    "forced_cancellation": Notification("wechat_tpl_forced_cancellation", "解约通知", (
        ("thing1", "解约事项", "强制解约"), ("thing2", "原因", "学校强制解约"), ("time3", "解约时间", "")),
        _forced_cancellation),
    "employer_uploaded": Notification("wechat_tpl_record_edited", "信息变更通知", (
        ("thing1", "变更事项", "用人单位已回传协议书"), ("thing2", "操作单位", "用人单位"), ("time3", "变更时间", "")),
        _employer_uploaded),
}
# Notifications that go by SMS to someone other than the graduate: the employer's agreement link
# (用人单位协助回传) goes to the unit's contact mobile on the record.
SMS_ONLY = ("employer_link",)


def employer_link_sms(config, payload: dict, context: dict) -> tuple[str, dict]:
    code, params = sms_templates.employer_agreement_link(context.get("graduate_name") or "", payload["link"])
    # the log shows the text with the link's token cut short: the link is the unit's, not the log readers'
    shown = {**params, "path": params["path"][:6] + "…"}
    text = sms_templates.TEMPLATES[code].render(shown, config.public_base_url)
    return f"【{config.sms_sign_name}】{text}", {"template_code": code, "params": params}


def record_link(config, payload: dict) -> str:
    """PUBLIC_BASE_URL + the record's page; only our own /wx/ paths, else the home page."""
    path = str(payload.get("link") or "")
    if not re.fullmatch(r"/wx/[A-Za-z0-9_/\-]{1,200}", path):
        path = "/wx/home"
    return config.public_base_url.rstrip("/") + path


def wechat_message(config, payload: dict, context: dict) -> tuple[str, dict]:
    """(content for the log, message for WeChatApi.send_template: template_id, data, url)."""
    n = NOTIFICATIONS[payload["template"]]
    now = when(context.get("at")) or when(datetime.now())
    data, lines = {}, []
    for (key, label, fallback), raw in zip(n.keywords, n.values(payload, context), strict=True):
        value = fit(key, raw, fallback or now)
        data[key] = {"value": value}
        lines.append(f"{label}：{value}")
    message = {"template_id": getattr(config, n.setting), "data": data, "url": record_link(config, payload)}
    return f"{n.title}｜" + "；".join(lines), message


def sms_message(config, payload: dict, context: dict) -> tuple[str, dict]:
    """(content for the log, message for AliyunSmsClient.send: template_code, params).
    Raises sms.templates.TemplateParamError when a variable cannot be sent (e.g. an empty name)."""
    name, kind = context.get("graduate_name") or "", payload.get("kind_text") or "签约及毕业去向"
    if payload["template"] == "record_edited":
        code, params = sms_templates.record_edited(name, kind, changed_labels(payload))
    else:
        code, params = SMS_NOTICE, {"name": sms_templates.check_variable("name", name),
                                    "kind": sms_templates.check_variable("kind", kind),
                                    "event": sms_templates.check_variable("event", payload.get("action_text") or "状态更新")}
    text = sms_templates.TEMPLATES[code].render(params, config.public_base_url)
    return f"【{config.sms_sign_name}】{text}", {"template_code": code, "params": params}
