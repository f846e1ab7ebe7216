"""notify/templates.py without a server: every notification renders a message WeChat accepts, whatever the
payload holds; keywords match the templates the emulator (and the demo account) has; production refuses
the demo template ids."""
from __future__ import annotations

from datetime import datetime

import pytest

from emulators.wechat_rules import check_template_data
from emulators.wechat_state import DEMO_TEMPLATES
from notify.templates import NOTIFICATIONS, cut, fit, one_line, record_link, sms_message, wechat_message
from server.config import ConfigError, Settings
from sms.templates import TEMPLATES
from tests.test_config import GOOD

CONFIG = Settings(public_base_url="https://wq.example.cn/")
CONTEXT = {"graduate_name": "张三", "school_name": "北京示范大学", "department": "计算机学院",
           "position_title": "软件工程师", "at": datetime(2026, 6, 1, 9, 30, 15)}
NASTY = "第一行\r\n第二行\t\u200b" + "很长的内容" * 30 + "😀"


def payload(template: str, **extra) -> dict:
    base = {"template": template, "record_id": 12, "event_id": 34, "kind": "online", "kind_text": "线上签约",
            "action": "pass", "action_text": "审核通过", "from_state": "online_audit", "state": "signed",
            "status_text": "签约完成", "agreement_type": "three_party",
            "unit_name": "北京示范科技有限公司", "actor_role": "school", "reason": None, "explanation": None,
            "changed_fields": [], "sms": False, "link": "/wx/records/12", "deadline": "2026-06-08 18:00:00"}
    return {**base, **extra}


def test_keywords_match_the_demo_templates():
    for name, n in NOTIFICATIONS.items():
        demo = DEMO_TEMPLATES[getattr(CONFIG, n.setting)]
        assert demo["title"] == n.title, name
        assert [(k, label) for k, label, _ in n.keywords] == list(demo["keywords"].items()), name


@pytest.mark.parametrize("template", sorted(NOTIFICATIONS))
@pytest.mark.parametrize("extra", [
    {},
    {"unit_name": NASTY, "reason": NASTY, "explanation": NASTY, "kind_text": NASTY, "changed_fields": ["x"] * 30},
    {"unit_name": None, "reason": "", "explanation": "   ", "deadline": None, "status_text": "\n"},
    {"action": "return", "state": "agreement_returned", "deadline": "not a time"},
])
def test_every_notification_renders_data_wechat_accepts(template, extra):
    content, message = wechat_message(CONFIG, payload(template, **extra), dict(CONTEXT, position_title=NASTY))
    n = NOTIFICATIONS[template]
    check_template_data(tuple(k for k, _, _ in n.keywords), message["data"])  # raises as WeChat would (47003)
    assert set(message["data"]) == {k for k, _, _ in n.keywords}  # no first, no remark
    assert message["url"] == "https://wq.example.cn/wx/records/12"
    assert content.startswith(n.title + "｜") and "\n" not in content


def test_values_are_cut_with_an_ellipsis_and_kept_on_one_line():
    assert cut("一二三四五六七八九十" * 3, 20) == "一二三四五六七八九十一二三四五六七八九…"
    assert fit("thing1", "短", "默认") == "短" and fit("thing1", " \n ", "默认") == "默认"
    assert fit("phrase2", "审核通过！Passed", "已处理") == "审核通过" and fit("phrase2", "OK", "已处理") == "已处理"
    assert fit("character_string3", "WQ2026-1000100000012" + "x" * 40, "-") == ("WQ2026-1000100000012" + "x" * 9 + "...")
    assert fit("time4", "2026-06-01 09:30", "") == "2026-06-01 09:30" and fit("time4", "明天", "2026") == "2026"
    assert one_line("a\r\nb\u2028c\u200bd\te") == "a b c d e"


def test_audit_results_name_the_stage_that_decided_and_the_reason():
    data = lambda **p: wechat_message(CONFIG, payload("audit_result", **p), CONTEXT)[1]["data"]  # noqa: E731
    assert data()["phrase2"]["value"] == "学校已通过" and data()["thing3"]["value"] == "签约完成"
    rejected = data(action="reject", state="audit_failed", reason="单位信息有误", explanation="名称不符",
                    actor_role="department")
    assert rejected["phrase2"]["value"] == "学院不通过" and rejected["thing3"]["value"] == "原因：单位信息有误，名称不符"
    department_pass = data(action="pass", state="online_audit", actor_role="department")
    assert department_pass["phrase2"]["value"] == "学院已通过" and department_pass["thing3"]["value"] == "等待学校审核"
    cancel = data(action="reject", from_state="cancel_audit_online", state="signed", reason="理由不充分",
                  explanation="请与单位协商")
    assert cancel["thing1"]["value"] == "解约申请" and cancel["phrase2"]["value"] == "学校不通过"


def sms_text(template: str, **extra) -> str:
    return sms_message(CONFIG, payload(template, **extra), CONTEXT)[0]


def test_audit_result_sms_says_who_decided_why_and_what_to_do():
    assert sms_text("audit_result", from_state="agreement_audit", state="agreement_audit", actor_role="department") \
        == "【毕业去向登记】张三同学，您的就业协议申请已通过学院审核，等待学校审核。请进入“毕业去向登记”公众号查看。"
    returned = sms_text("audit_result", action="return", from_state="registration_audit",
                        state="registration_returned", reason="信息有误", explanation="单位名称与公章不一致")
    assert returned == ("【毕业去向登记】张三同学，您的协议书登记被学校退回修改，原因：信息有误，单位名称与公章不一致。"
                        "请进入“毕业去向登记”公众号修改后重新提交。")
    assert "已通过学校鉴证，签约完成" in sms_text("audit_result", agreement_type="two_party")
    assert "已通过学校审核，请下载协议书交单位盖章后回传" in sms_text(
        "audit_result", from_state="agreement_audit", state="agreement_approved", agreement_type="two_party")
    assert len(sms_text("audit_result")) <= 70


def test_cancellation_and_invitation_sms_carry_who_asked_the_reason_and_the_next_step():
    request = sms_text("cancel_request", action="request_cancel", actor_role="employer", reason="单位原因",
                       explanation="岗位撤销")
    assert request == ("【毕业去向登记】张三同学，北京示范科技有限公司申请与您解除就业协议，原因：单位原因，岗位撤销。"
                       "请进入“毕业去向登记”公众号同意或拒绝。")
    forced = sms_text("forced_cancellation", action="force_cancel", explanation="单位已注销")
    assert "学校已解除您与北京示范科技有限公司的就业协议，说明：单位已注销" in forced
    assert "请于2026-06-08 18:00前进入“毕业去向登记”公众号接受或拒绝" in sms_text("invitation", action="invite")
    assert "拒绝了您的解约申请，就业协议继续有效" in sms_text("cancel_answer", action="refuse_cancel")
    long_reason = sms_message(CONFIG, payload("cancel_request", reason="单位原因", explanation=NASTY), CONTEXT)[1]
    assert all(len(v) <= 35 and "\n" not in v for v in long_reason["params"].values())


def test_record_edited_names_the_fields_in_chinese_and_goes_by_sms():
    p = payload("record_edited", action="edit_after_approval", action_text="学校修改签约信息", sms=True,
                changed_fields=["job_category", "unit_industry", "unit_nature"])
    _, message = wechat_message(CONFIG, p, CONTEXT)
    assert message["data"]["thing1"]["value"] == "职位类别、单位行业、单位性质"
    assert message["data"]["thing2"]["value"] == "北京示范大学" and message["data"]["time3"]["value"] == "2026-06-01 09:30"
    text, sms = sms_message(CONFIG, p, CONTEXT)
    assert sms == {"template_code": "SMS_300000001", "params": {"name": "张三", "kind": "线上签约",
                                                                "fields": "职位类别、单位行业、单位性质"}}
    assert text == "【毕业去向登记】张三同学，学校已修改您的线上签约信息（职位类别、单位行业、单位性质），请进入“毕业去向登记”公众号查看。如有疑问请联系学校就业部门。"
    dest = payload("record_edited", kind_text="其他毕业去向登记", changed_fields=["type_code", "fields", "note"],
                   actor_role="department")
    data = wechat_message(CONFIG, dest, CONTEXT)[1]["data"]
    assert data["thing1"]["value"] == "去向类型、去向信息、备注" and data["thing2"]["value"] == "计算机学院"


def test_every_notification_has_an_sms_for_graduates_without_wechat():
    for template in NOTIFICATIONS:
        text, sms = sms_message(CONFIG, payload(template, reason="单位原因", explanation="说明"), CONTEXT)
        assert sms["template_code"] in TEMPLATES and text.startswith("【毕业去向登记】张三同学")


def test_links_point_only_at_our_record_pages():
    assert record_link(CONFIG, {"link": "/wx/records/12"}) == "https://wq.example.cn/wx/records/12"
    for bad in ("https://evil.example.com/", "//evil.example.com", "/wx/../admin", None, "/api/x"):
        assert record_link(CONFIG, {"link": bad}) == "https://wq.example.cn/wx/home"


def test_production_refuses_the_demo_template_ids():
    real = {f"WECHAT_TPL_{n.upper()}": f"tpl_real_{n}" for n in NOTIFICATIONS}
    assert Settings.from_env({**GOOD, **real}).wechat_tpl_invitation == "tpl_real_invitation"
    with pytest.raises(ConfigError, match="WECHAT_TPL_AUDIT_RESULT"):
        Settings.from_env({**GOOD, **real, "WECHAT_TPL_AUDIT_RESULT": "demo_tpl_audit_result"})
