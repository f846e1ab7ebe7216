"""Who may act: training modes, cohort window (31 January rule), invalid (失效) graduates."""
from __future__ import annotations

from datetime import date

from signing.errors import DomainError

TRAINING_MODES = {
    "1": "非定向", "21": "定向（不可网签）", "22": "定向（可签约）", "3": "在职",
    "41": "委培（不可网签）", "42": "委培（可签约）", "5": "自筹",
}
# 21/41 may only file 定向/委培毕业去向补充登记: no signing, no paper agreement, no other destination.
SUPPLEMENTARY_ONLY_MODES = frozenset({"21", "41"})
LEVELS = ("专科", "本科", "硕士", "博士")
UNDERGRADUATE_LEVELS = frozenset({"专科", "本科"})


def level_group(level: str) -> str:
    """本专科 -> undergraduate, 研究生 -> postgraduate (agreement handlers are set per group)."""
    return "undergraduate" if level in UNDERGRADUATE_LEVELS else "postgraduate"


def current_cohort(today: date) -> int:
    """The cohort that is signing now: signing for cohort N runs from September of N-1 (the final year begins)
    to the summer of N; the pages and counts open on it when no cohort is asked for."""
    return today.year + 1 if today.month >= 9 else today.year


def cohort_open(cohort: int, today: date) -> bool:
    """The current cohort may act; the previous one until 31 January of the following year."""
    return today <= date(cohort + 1, 1, 31)


def may_sign(training_mode: str) -> bool:
    return training_mode not in SUPPLEMENTARY_ONLY_MODES


def ensure_graduate_may_act(graduate: dict, today: date) -> None:
    if graduate["status"] != "valid":
        raise DomainError("graduate_invalid")
    if not cohort_open(graduate["cohort"], today):
        raise DomainError("cohort_closed")
