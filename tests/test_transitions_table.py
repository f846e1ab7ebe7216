"""The transition table itself: consistent, printed, and its diagrams in docs/flows.md current."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from signing import transitions as tt
from signing.diagram import flows_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_state_has_chinese_text_and_every_action_a_name():
    for t in tt.TABLE:
        assert t.state == tt.NEW or t.state in tt.STATE_TEXT, t
        assert t.next_state.lstrip("@") in tt.STATE_TEXT, t
        assert t.action in tt.ACTION_TEXT, t


def test_no_two_rows_for_the_same_role_state_action_and_stage():
    seen = set()
    for t in tt.TABLE:
        for role in t.roles:
            for stage in ([t.stage] if t.stage else ["department", "school", None]):
                key = (t.kind, t.state, t.action, role, stage)
                assert key not in seen, key
                seen.add(key)


def test_only_the_school_stage_pass_approves_and_carries_the_approvals_effects():
    for t in tt.TABLE:
        if t.action == "pass" and t.state in tt.AUDIT_STATES:
            assert t.stage in ("department", "school"), t
            if t.stage == "department":
                assert (t.next_state, t.next_stage, t.ems, t.document) == (t.state, "school", None, False), t
                assert t.notify == "audit_result", t
            else:
                assert t.next_state != t.state, t


def test_terminal_states_have_no_way_out():
    for t in tt.TABLE:
        assert t.state not in tt.TERMINAL_STATES, t


def test_audit_actions_need_reasons_and_school_only_rows_exclude_departments():
    for t in tt.TABLE:
        if t.action in ("return", "reject"):
            assert {"reason", "explanation"} <= set(t.needs), t
        if t.school_only:
            assert "department" not in t.roles, t


def test_transitions_command_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "server", "transitions"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "签约邀请逾期未回应" in out and "force_cancel" in out
    assert len(out.splitlines()) == 1 + 2 * len(tt.TABLE)


def test_docs_flows_is_generated_from_the_table():
    assert (ROOT / "docs" / "flows.md").read_text(encoding="utf-8") == flows_markdown(), \
        "run: python -m server transitions --markdown > docs/flows.md"
