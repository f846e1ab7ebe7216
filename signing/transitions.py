"""The transition table: (kind, state, action) -> (next state, who may, guards, effects).

The single source of truth for every flow of SPEC section 4. The service applies it, the API reads it to
tell each caller which actions they may take now, `python -m server transitions` prints it and the README
diagrams are generated from it.

Audit states carry a stage (department or school): in "department then school" mode a submission starts at
the department stage; in "school only" mode at the school stage. The next state "@audit" means "the audit
state of this phase, at the first stage". A row may hold at one stage only (`stage`): the department's pass is
its own row, which hands the record to the school stage (`next_stage`) and tells the graduate so; only the
pass at the school stage approves, and only it carries the approval's effects (EMS push, agreement PDF).
Effects (notification, EMS push, PDF) belong to the row, that is to the state change it makes, never to an
action's name.

Rules that hold for every row (signing/rules.py): records of invalid (失效) graduates and of closed cohorts are
frozen for everyone; read-only accounts never act; graduates and employers act only once the province module
and the school's online signing are on; departments act on their own department only.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

KINDS = {
    "online": "线上签约",
    "offline": "线下签约（申请就业协议）",
    "paper": "已签就业协议登记（补登）",
    "destination": "其他毕业去向登记",
}
NEW = "new"  # the pseudo-state before a record exists

# state -> Chinese status text as the seeds write it; {stage} becomes 学院 or 学校.
STATE_TEXT = {
    "draft": "暂存，待提交",
    "invited": "单位发起签约邀请，等待学生应约",
    "refused": "学生已拒绝签约，签约失败",
    "expired": "签约邀请逾期未回应，签约失败",
    "online_audit": "学生已同意签约，等待{stage}审核",
    "audit_failed": "签约审核不通过，签约失败",
    "agreement_audit": "就业协议审核中，等待{stage}审核",
    "agreement_returned": "协议审核待提交（老师退回）",
    "agreement_void": "就业协议审核不通过（已作废）",
    "agreement_approved": "就业协议审核通过，待回传盖章协议书",
    "signing_audit": "签约审核中，等待{stage}审核",
    "signing_returned": "签约审核退回，待重新回传协议书",
    "signing_void": "签约审核不通过（已作废）",
    "registration_audit": "签约审核中，等待{stage}审核",
    "registration_returned": "登记信息待提交（老师退回）",
    "registration_void": "登记审核不通过（已作废）",
    "signed": "签约完成",
    "destination_audit": "去向登记审核中，等待{stage}审核",
    "destination_returned": "去向登记待提交（老师退回）",
    "destination_void": "去向登记审核不通过（已作废）",
    "registered": "去向登记审核通过",
    "voided": "已作废（毕业生自行作废）",
    "discarded": "已删除",
    "cancel_pending_employer": "学生发起解约，等待单位应约",
    "cancel_pending_graduate": "单位发起解约，等待学生应约",
    "cancel_audit_online": "已同意解约，等待{stage}审核",
    "cancel_audit": "解约中，等待{stage}审核",
    "cancel_returned": "解约申请待提交（老师退回或本人撤回）",
    "cancelled": "解约完成",
}
AUDIT_STATES = {"online_audit", "agreement_audit", "signing_audit", "registration_audit", "destination_audit",
                "cancel_audit_online", "cancel_audit"}
APPROVED_STATES = {"signed", "registered"}
TERMINAL_STATES = {"refused", "expired", "audit_failed", "agreement_void", "signing_void", "registration_void",
                   "destination_void", "voided", "discarded", "cancelled"}
# Not active: may coexist with another record. Everything else is active (in flow or approved).
INACTIVE_STATES = TERMINAL_STATES | {"draft", "invited", NEW}

ACTION_TEXT = {
    "invite": "单位发起签约邀请", "accept": "学生同意签约", "refuse": "学生拒绝签约", "expire": "签约邀请逾期未回应",
    "revoke": "单位撤回签约邀请",
    "save": "暂存", "submit": "提交审核", "withdraw": "撤回修改", "discard": "删除暂存信息",
    "pass": "审核通过", "return": "退回修改", "reject": "审核不通过",
    "upload_stamped": "回传盖章协议书", "edit_after_approval": "学校修改签约信息",
    "edit_destination": "审核人修改去向", "refresh_graduate": "获取最新学生信息",
    "void": "作废去向信息",
    "request_cancel": "申请解约", "accept_cancel": "同意解约", "refuse_cancel": "拒绝解约",
    "force_cancel": "强制解约", "apply_cancel": "申请解约（线下）", "resubmit_cancel": "重新提交解约申请",
    "abandon_cancel": "放弃解约", "pass_unilateral": "审核通过（学生单方面解约）",
}

AUDITORS = ("department", "school")


@dataclass(frozen=True)
class Transition:
    kind: str
    state: str
    action: str
    next_state: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()        # input the action requires: reason, explanation, data, upload, changes
    notify: str | None = None          # notification template for the graduate
    ems: str | None = None             # "destination" pushes the destination, "unemployed" pushes 待就业
    document: bool = False             # renders the agreement PDF (the agreement is approved)
    school_only: bool = False          # schools, not departments (强制解约, 单方面解约, edits after approval)
    editable: tuple[str, ...] = field(default=())  # fields an edit may change
    stage: str | None = None           # the audit stage the row holds at (None: any)
    next_stage: str | None = None      # the audit stage the record moves to, staying in the same audit state

    def holds_at(self, stage: str | None) -> bool:
        return self.stage is None or self.stage == stage


def _department_pass(kind, audit):
    """In "department then school" mode the department's pass hands the record to the school; nothing is
    approved yet, so nothing but the graduate's notice leaves."""
    return [Transition(kind, audit, "pass", audit, AUDITORS, ("auditor_stage",), notify="audit_result",
                       stage="department", next_stage="school")]


def _audit_rows(kind, audit, approved, returned, void, notify_on_pass=True, ems_on_pass="destination"):
    """pass / return / reject of one audit phase; returned=None when the phase cannot be returned."""
    rows = [
        *_department_pass(kind, audit),
        Transition(kind, audit, "pass", approved, AUDITORS, ("auditor_stage",), stage="school",
                   notify="audit_result" if notify_on_pass else None, ems=ems_on_pass if approved in APPROVED_STATES else None,
                   document=approved == "agreement_approved" or (kind == "online" and approved == "signed")),
        Transition(kind, audit, "reject", void, AUDITORS, ("auditor_stage",), ("reason", "explanation"),
                   notify="audit_result"),
    ]
    if returned:
        rows.append(Transition(kind, audit, "return", returned, AUDITORS, ("auditor_stage",), ("reason", "explanation"),
                               notify="audit_result"))
    return rows


def _offline_cancellation(kind):
    """4.5: cancellation of an approved offline signing or paper registration, with a cancellation letter."""
    return [
        Transition(kind, "signed", "apply_cancel", "@cancel_audit", ("graduate",),
                   ("cancellations_left",), ("reason", "explanation", "upload")),
        Transition(kind, "cancel_audit", "withdraw", "cancel_returned", ("graduate",), ("no_audit_yet",)),
        *_department_pass(kind, "cancel_audit"),
        Transition(kind, "cancel_audit", "pass", "cancelled", AUDITORS, ("auditor_stage",), notify="audit_result",
                   ems="unemployed", stage="school"),
        Transition(kind, "cancel_audit", "pass_unilateral", "cancelled", ("school",), ("auditor_stage",),
                   ("explanation",), notify="audit_result", ems="unemployed", school_only=True),
        Transition(kind, "cancel_audit", "return", "cancel_returned", AUDITORS, ("auditor_stage",),
                   ("reason", "explanation"), notify="audit_result"),
        Transition(kind, "cancel_audit", "reject", "signed", AUDITORS, ("auditor_stage",), ("reason", "explanation"),
                   notify="audit_result"),
        Transition(kind, "cancel_returned", "resubmit_cancel", "@cancel_audit", ("graduate",), (),
                   ("reason", "explanation")),
        Transition(kind, "cancel_returned", "abandon_cancel", "signed", ("graduate",), ()),
        Transition(kind, "signed", "edit_after_approval", "signed", ("school",), (), ("changes",),
                   notify="record_edited", ems="destination", school_only=True,
                   editable=("unit_nature", "unit_industry", "job_category")),
    ]


def _draft_rows(kind, audit, returned, discardable=True):
    g = ("graduate",)
    rows = [
        Transition(kind, NEW, "save", "draft", g, ("kind_allowed",), ("data",)),
        Transition(kind, NEW, "submit", "@" + audit, g, ("kind_allowed",), ("data",)),
        Transition(kind, "draft", "save", "draft", g, (), ("data",)),
        Transition(kind, "draft", "submit", "@" + audit, g, ("kind_allowed",), ("data",)),
        Transition(kind, audit, "withdraw", "draft", g, ("no_audit_yet",)),
        Transition(kind, returned, "save", returned, g, (), ("data",)),
        Transition(kind, returned, "submit", "@" + audit, g, (), ("data",)),
    ]
    if discardable:
        rows.append(Transition(kind, "draft", "discard", "discarded", g, ()))
    return rows


def _stamped_copy_rows(state):
    """The stamped copy comes back from the graduate (本人回传) or from the unit through the SMS link
    (用人单位协助回传); then the graduate is told."""
    return [
        Transition("offline", state, "upload_stamped", "@signing_audit", ("graduate",), (), ("upload",)),
        Transition("offline", state, "upload_stamped", "@signing_audit", ("employer_link",), (), ("upload",),
                   notify="employer_uploaded"),
    ]


TABLE: list[Transition] = [
    # 4.1 online signing, initiated by a registered employer
    Transition("online", NEW, "invite", "invited", ("employer",), ("kind_allowed", "employer_certified"),
               ("data",), notify="invitation"),
    Transition("online", "invited", "accept", "@online_audit", ("graduate",), ("before_deadline",)),
    Transition("online", "invited", "refuse", "refused", ("graduate",), ("before_deadline",)),
    Transition("online", "invited", "revoke", "discarded", ("employer",), ()),
    Transition("online", "invited", "expire", "expired", ("system",), ("past_deadline",)),
    *_audit_rows("online", "online_audit", "signed", None, "audit_failed"),
    Transition("online", "online_audit", "refresh_graduate", "online_audit", AUDITORS, ("auditor_stage",)),
    Transition("online", "signed", "edit_after_approval", "signed", ("school",), (), ("changes",),
               notify="record_edited", ems="destination", school_only=True, editable=("job_category",)),
    # 4.2 online cancellation (either side applies, the other answers, then audit) and forced cancellation
    Transition("online", "signed", "request_cancel", "cancel_pending_employer", ("graduate",),
               ("cancellations_left",), ("reason", "explanation")),
    Transition("online", "signed", "request_cancel", "cancel_pending_graduate", ("employer",), (),
               ("reason", "explanation"), notify="cancel_request"),
    Transition("online", "cancel_pending_employer", "accept_cancel", "@cancel_audit_online", ("employer",), ()),
    Transition("online", "cancel_pending_employer", "refuse_cancel", "signed", ("employer",), (), ("explanation",),
               notify="cancel_answer"),
    Transition("online", "cancel_pending_employer", "force_cancel", "cancelled", ("school",), (), ("explanation",),
               notify="forced_cancellation", ems="unemployed", school_only=True),
    Transition("online", "cancel_pending_graduate", "accept_cancel", "@cancel_audit_online", ("graduate",),
               ()),
    Transition("online", "cancel_pending_graduate", "refuse_cancel", "signed", ("graduate",), (),
               ("explanation",)),
    *_department_pass("online", "cancel_audit_online"),
    Transition("online", "cancel_audit_online", "pass", "cancelled", AUDITORS, ("auditor_stage",), notify="audit_result",
               ems="unemployed", stage="school"),
    Transition("online", "cancel_audit_online", "reject", "signed", AUDITORS, ("auditor_stage",),
               ("reason", "explanation"), notify="audit_result"),
    # 4.3 offline signing: agreement audit, the stamped copy, signing audit
    *_draft_rows("offline", "agreement_audit", "agreement_returned"),
    *_audit_rows("offline", "agreement_audit", "agreement_approved", "agreement_returned", "agreement_void"),
    Transition("offline", "agreement_audit", "refresh_graduate", "agreement_audit", AUDITORS, ("auditor_stage",)),
    *_stamped_copy_rows("agreement_approved"),
    Transition("offline", "signing_audit", "withdraw", "agreement_approved", ("graduate",),
               ("no_audit_yet",)),
    *_audit_rows("offline", "signing_audit", "signed", "signing_returned", "signing_void"),
    *_stamped_copy_rows("signing_returned"),
    *_offline_cancellation("offline"),
    # 4.4 paper-agreement registration (补登)
    *_draft_rows("paper", "registration_audit", "registration_returned"),
    *_audit_rows("paper", "registration_audit", "signed", "registration_returned", "registration_void"),
    Transition("paper", "registration_audit", "refresh_graduate", "registration_audit", AUDITORS, ("auditor_stage",)),
    *_offline_cancellation("paper"),
    # 4.6 other destination registration
    *_draft_rows("destination", "destination_audit", "destination_returned"),
    *_audit_rows("destination", "destination_audit", "registered", "destination_returned", "destination_void"),
    Transition("destination", "destination_audit", "edit_destination", "destination_audit", AUDITORS,
               ("auditor_stage",), ("changes",), notify="record_edited", editable=("destination_fields",)),
    Transition("destination", "destination_audit", "refresh_graduate", "destination_audit", AUDITORS, ("auditor_stage",)),
    Transition("destination", "registered", "void", "voided", ("graduate",), (), ems="unemployed"),
]

_INDEX: dict[tuple[str, str, str], list[Transition]] = {}
_FROM: dict[tuple[str, str], tuple[Transition, ...]] = {}  # the rows leaving a state, in the table's order
for _t in TABLE:
    _INDEX.setdefault((_t.kind, _t.state, _t.action), []).append(_t)
    _FROM[_t.kind, _t.state] = (*_FROM.get((_t.kind, _t.state), ()), _t)


def find(kind: str, state: str, action: str, role: str, stage: str | None = None) -> Transition | None:
    """The row for this role at the record's audit stage (a row without a stage holds at any)."""
    for t in _INDEX.get((kind, state, action), ()):
        if role in t.roles and t.holds_at(stage):
            return t
    return None


def actions_from(kind: str, state: str) -> tuple[Transition, ...]:
    return _FROM.get((kind, state), ())  # every list and record page asks this of each record


def known_action(kind: str, state: str, action: str) -> bool:
    return (kind, state, action) in _INDEX


def resolve_next(t: Transition, first_stage: str, stage: str | None = None) -> tuple[str, str | None]:
    """(next state, its audit stage). '@x' enters audit x at the first stage of the school's audit mode; a row
    with a next_stage moves to it; a row that stays in the same audit state keeps the stage (`stage`)."""
    if t.next_state.startswith("@"):
        return t.next_state[1:], first_stage
    if t.next_stage:
        return t.next_state, t.next_stage
    if t.next_state == t.state and t.state in AUDIT_STATES:
        return t.next_state, stage
    return t.next_state, None


# Under two-party agreements the school verifies (鉴证) signings and cancellations instead of auditing (审核)
# them; agreement applications, paper registrations and destinations are audited either way.
VERIFIED_STATES = {"online_audit", "signing_audit", "cancel_audit_online", "cancel_audit"}


@functools.cache  # a few dozen combinations, asked of every record of every list
def status_text(state: str, stage: str | None, agreement_type: str | None = None) -> str:
    if state == NEW:
        return "尚未创建"
    return verify_wording(
        STATE_TEXT[state].format(stage={"department": "学院", "school": "学校"}.get(stage or "", "学院/学校")),
        state, agreement_type)


def verify_wording(text: str, state: str, agreement_type: str | None) -> str:
    return text.replace("审核", "鉴证") if agreement_type == "two_party" and state in VERIFIED_STATES else text


def is_active(state: str) -> bool:
    return state not in INACTIVE_STATES


def is_in_flow(state: str) -> bool:
    return is_active(state) and state not in APPROVED_STATES


def states_of(kind: str) -> list[str]:
    seen = []
    for t in TABLE:
        if t.kind == kind:
            for s in (t.state, t.next_state.lstrip("@")):
                if s not in seen:
                    seen.append(s)
    return seen
