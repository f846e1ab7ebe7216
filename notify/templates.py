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

from signing import transitions as tt
from sms import templates as sms_templates

FIELD_LABELS = {"job_category": "职位类别", "unit_nature": "单位性质", "unit_industry": "单位行业",
                "fields": "去向信息", "type_code": "去向类型", "note": "备注"}
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


CANCEL_AUDIT_STATES = {"cancel_audit", "cancel_audit_online"}
RETURNED_STATES = {"agreement_returned", "signing_returned", "registration_returned", "destination_returned",
                   "cancel_returned"}
APPROVED_DETAIL = {"agreement_approved": "请下载协议书交单位盖章后回传", "signed": "签约完成",
                   "registered": "去向登记完成", "cancelled": "解约完成"}
ITEM_OF_AUDIT = {"online_audit": "线上签约", "agreement_audit": "就业协议申请", "signing_audit": "盖章协议书",
                 "registration_audit": "协议书登记", "destination_audit": "毕业去向登记"}


@dataclass(frozen=True)
class AuditOutcome:
    """What an audit decided, told the same way on WeChat and by SMS, naming the stage that decided."""
    item: str      # 审核事项: what was audited
    phrase: str    # WeChat's 审核结果 (≤5 Chinese characters): 学院已通过, 学校已退回, …
    result: str    # the SMS's sentence: 已通过学院审核, 被学校退回修改, …
    detail: str    # the reason and explanation, or what happens next
    next: str      # what the graduate does in the official account


def reason_text(p: dict, label: str = "原因：") -> str:
    reason, explanation = one_line(p.get("reason")), one_line(p.get("explanation"))
    return "，".join(x for x in (f"{label}{reason}" if reason else "", explanation) if x)


def audit_outcome(p: dict) -> AuditOutcome:
    """Read from the state change the audit made (from_state -> state) and who made it, never from the
    action's name: a department pass keeps the record in audit, at the school stage."""
    before, state = p.get("from_state") or "", p.get("state") or ""
    who = "学院" if p.get("actor_role") == "department" else "学校"
    verb = "鉴证" if p.get("agreement_type") == "two_party" and before in tt.VERIFIED_STATES else "审核"
    cancellation = before in CANCEL_AUDIT_STATES
    item = "解约申请" if cancellation else ITEM_OF_AUDIT.get(before) or p.get("kind_text") or "签约及毕业去向"
    reason = reason_text(p)
    if state in tt.AUDIT_STATES:  # department then school: the school decides next
        return AuditOutcome(item, "学院已通过", f"已通过学院{verb}", f"等待学校{verb}", "查看")
    if state in RETURNED_STATES:
        return AuditOutcome(item, f"{who}已退回", f"被{who}退回修改", reason or "请查看退回原因", "修改后重新提交")
    if cancellation and state == "signed":
        return AuditOutcome(item, f"{who}不通过", f"未通过{who}{verb}",
                            f"就业协议继续有效，{reason}" if reason else "就业协议继续有效", "查看")
    if state in APPROVED_DETAIL:
        return AuditOutcome(item, f"{who}已通过", f"已通过{who}{verb}", APPROVED_DETAIL[state], "查看")
    return AuditOutcome(item, f"{who}不通过", f"未通过{who}{verb}", reason or "记录已作废", "查看并重新办理")


def _audit_result(p: dict, c: dict) -> tuple:
    o = audit_outcome(p)
    return o.item, o.phrase, o.detail


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


def _sms_audit_result(p: dict, c: dict) -> tuple[str, dict]:
    o = audit_outcome(p)
    return sms_templates.SMS_AUDIT_RESULT, {"item": o.item, "result": o.result, "detail": o.detail, "next": o.next}


def _unit(p: dict) -> str:
    return p.get("unit_name") or "用人单位"


SMS_OF: dict[str, Callable[[dict, dict], tuple[str, dict]]] = {
    "audit_result": _sms_audit_result,
    "invitation": lambda p, c: (sms_templates.SMS_INVITATION, {"unit": _unit(p), "deadline": when(p.get("deadline"))
                                                               or "应约截止时间"}),
    "cancel_request": lambda p, c: (sms_templates.SMS_CANCEL_REQUEST,
                                    {"unit": _unit(p), "reason": reason_text(p, label="") or "未说明"}),
    "cancel_answer": lambda p, c: (sms_templates.SMS_CANCEL_ANSWER, {"unit": _unit(p)}),
    "forced_cancellation": lambda p, c: (sms_templates.SMS_FORCED_CANCELLATION,
                                         {"unit": _unit(p), "explanation": one_line(p.get("explanation")) or "无"}),
    "employer_uploaded": lambda p, c: (sms_templates.SMS_EMPLOYER_UPLOADED, {"unit": _unit(p)}),
}


def sms_message(config, payload: dict, context: dict) -> tuple[str, dict]:
    """(content for the log, message for AliyunSmsClient.send: template_code, params).
    Raises sms.templates.TemplateParamError when a variable cannot be sent (e.g. an empty name)."""
    name = context.get("graduate_name") or ""
    if payload["template"] == "record_edited":
        code, params = sms_templates.record_edited(name, payload.get("kind_text") or "签约及毕业去向",
                                                   changed_labels(payload))
    else:
        code, values = SMS_OF[payload["template"]](payload, context)
        # Aliyun's variables are one line of at most 35 characters: long reasons are cut, never refused
        params = {"name": sms_templates.check_variable("name", name)} | {
            k: sms_templates.check_variable(k, cut(one_line(v), sms_templates.MAX_VARIABLE_LENGTH))
            for k, v in values.items()}
    text = sms_templates.TEMPLATES[code].render(params, config.public_base_url)
    return f"【{config.sms_sign_name}】{text}", {"template_code": code, "params": params}
