"""The rules around a transition, in one place: who may see a record, whether an actor may take an action
now (role, permission, stage, guards), and what input the action needs. No database access here: the
service loads the context (graduate, settings, counts) and these functions decide."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signing import transitions as tt
from signing.actors import Actor
from signing.codes import AUDIT_REASONS, CANCEL_REASONS
from signing.eligibility import SUPPLEMENTARY_ONLY_MODES, cohort_open
from signing.errors import DomainError


@dataclass
class Context:
    """What the rules need to know besides the record."""
    graduate: dict            # roster row: status, cohort, training_mode, school_id, department, level
    settings: dict            # school settings of the graduate's cohort (+ province module flag)
    now: datetime
    cancellations_used: int = 0
    active_record_id: int | None = None  # the graduate's record in flow or approved, if any

    @property
    def first_audit_stage(self) -> str:
        return "department" if self.settings["audit_mode"] == "department_then_school" else "school"


def can_see(actor: Actor, record: dict, school_province: str | None = None) -> bool:
    role = actor.role
    if role in ("system", "employer_link", "ministry"):
        return True
    if role == "graduate":
        return record["graduate_id"] == actor.graduate_id
    if role == "employer":
        return record["kind"] == "online" and record["employer_id"] == actor.employer_id
    if role == "province":
        return school_province == actor.province_code
    if role in ("school", "department"):
        if record["school_id"] != actor.school_id or actor.permission() == "none":
            return False
        if role == "department":
            return record["department"] == actor.department
        if actor.level_scope == "all":
            return True
        undergraduate = record["level"] in ("专科", "本科")
        return undergraduate == (actor.level_scope == "undergraduate")
    return False


def frozen_problem(ctx: Context) -> str | None:
    """Records of invalid (失效) graduates and of closed cohorts are frozen for everyone."""
    if ctx.graduate["status"] != "valid":
        return "graduate_invalid"
    if not cohort_open(ctx.graduate["cohort"], ctx.now.date()):
        return "cohort_closed"
    return None


def transition_for(actor: Actor, record: dict, action: str) -> tt.Transition:
    """The table row for this actor, or the error that explains why there is none."""
    if action not in tt.ACTION_TEXT:
        raise DomainError("unknown_action")
    if not tt.known_action(record["kind"], record["state"], action):
        raise DomainError("action_not_allowed",
                          f"当前状态（{tt.status_text(record['state'], record.get('audit_stage'))}）不能进行“{tt.ACTION_TEXT[action]}”")
    t = tt.find(record["kind"], record["state"], action, actor.role, record.get("audit_stage"))
    if t is None:
        raise DomainError("forbidden", f"您不能对此记录进行“{tt.ACTION_TEXT[action]}”")
    return t


def check(t: tt.Transition, actor: Actor, record: dict, ctx: Context) -> None:
    """Every condition of the transition for this actor now; raises the first broken one."""
    if actor.role in ("school", "department") and actor.permission("employment") != "read_write":
        raise DomainError("read_only")
    if problem := frozen_problem(ctx):
        raise DomainError(problem)
    if actor.role in ("graduate", "employer") and not (ctx.settings.get("module_employment")
                                                        and ctx.settings.get("online_signing")):
        raise DomainError("settings_required", "学校尚未开启毕业去向登记与网签，请联系学校就业部门")
    for guard in t.guards:
        _GUARDS[guard](t, actor, record, ctx)
    # one active record per graduate (the unique index records.active_graduate_id settles races)
    if not tt.is_active(record["state"]) and tt.is_active(t.next_state.lstrip("@")) \
            and ctx.active_record_id not in (None, record["id"]):
        raise DomainError("active_record_exists")


def _kind_allowed(t, actor, record, ctx):
    if record["kind"] != "destination" and ctx.graduate["training_mode"] in SUPPLEMENTARY_ONLY_MODES:
        raise DomainError("training_mode_cannot_sign")


def _employer_certified(t, actor, record, ctx):
    if ctx.settings.get("employer_certification") != "certified":
        raise DomainError("employer_not_certified")


def _before_deadline(t, actor, record, ctx):
    if record["deadline"] is not None and record["deadline"] <= ctx.now:
        raise DomainError("invitation_expired")


def _past_deadline(t, actor, record, ctx):
    if record["deadline"] is None or record["deadline"] > ctx.now:
        raise DomainError("action_not_allowed", "签约邀请尚未到应约截止时间")


def _no_audit_yet(t, actor, record, ctx):
    if record["audit_touched"]:
        raise DomainError("already_audited")


def _auditor_stage(t, actor, record, ctx):
    if actor.role != record["audit_stage"]:
        raise DomainError("not_your_audit_stage",
                          "该记录正在等待学院审核" if record["audit_stage"] == "department" else "该记录正在等待学校审核")


def _cancellations_left(t, actor, record, ctx):
    if ctx.cancellations_used >= ctx.settings["max_cancellations"]:
        raise DomainError("cancellation_limit", f"解约申请次数已达学校设置的上限（{ctx.settings['max_cancellations']}次）")


_GUARDS = {
    "kind_allowed": _kind_allowed, "employer_certified": _employer_certified, "before_deadline": _before_deadline,
    "past_deadline": _past_deadline, "no_audit_yet": _no_audit_yet, "auditor_stage": _auditor_stage,
    "cancellations_left": _cancellations_left,
}


def check_needs(t: tt.Transition, reason: str | None, explanation: str | None, has_data: bool,
                has_changes: bool, upload_ids: list[int]) -> None:
    """The input an action requires: a reason from the list, an explanation, data, changes or uploads."""
    if "reason" in t.needs:
        allowed = CANCEL_REASONS if "cancel" in t.action else AUDIT_REASONS
        if reason not in allowed:
            raise DomainError("reason_required", "请从列表中选择原因：" + "、".join(allowed), {"reasons": list(allowed)})
    if "explanation" in t.needs and not (explanation or "").strip():
        raise DomainError("explanation_required")
    if "data" in t.needs and not has_data:
        raise DomainError("record_incomplete", "请填写签约或去向信息")
    if "changes" in t.needs and not has_changes:
        raise DomainError("field_not_editable", "请提供要修改的信息")
    if "upload" in t.needs and not upload_ids:
        raise DomainError("upload_required")


def available_actions(actor: Actor, record: dict, ctx: Context) -> list[dict]:
    """The actions this actor may take on the record now, read from the table (drives the buttons)."""
    result = []
    for t in tt.actions_from(record["kind"], record["state"]):
        if actor.role not in t.roles or not t.holds_at(record.get("audit_stage")):
            continue
        try:
            check(t, actor, record, ctx)
        except DomainError:
            continue
        result.append({"action": t.action, "text": tt.ACTION_TEXT[t.action], "needs": list(t.needs),
                       "editable": list(t.editable)})
    return result
