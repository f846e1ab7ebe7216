"""Live statistics (数据统计, SPEC 7): per school or department of the caller's scope, how many graduates,
how many registered (an approved record), under audit, not registered, and how many records in each state."""
from __future__ import annotations

from signing import transitions as tt

AUDITS = "(" + ",".join(f"'{state}'" for state in sorted(tt.AUDIT_STATES)) + ")"  # constants of ours, not input


# what a statistics table may be grouped by: the name shown, the key a row stands for, the heading
GROUPS = {"province": ("p.name", "p.code", "省份"), "school": ("s.name", "s.id", "院校"),
          "department": ("g.department", "g.department", "院系"), "major": ("g.major", "g.major", "专业"),
          "level": ("g.level", "g.level", "学历层次")}
SEASON_DAYS = 60  # the per-day chart: the last two months of the season


def allowed_groups(role: str, province: str | None = None) -> tuple[str, ...]:
    """A school's rows are its departments, majors or levels; a province's its schools; the ministry's the
    provinces (the national overview), or the schools of the one province it opened. The first is the default."""
    if role in ("school", "department"):
        return "department", "major", "level"
    return ("province", "school") if role == "ministry" and not province else ("school",)


async def statistics(db, scope: tuple[str, list], group_by: str, cohort: int) -> dict:
    """Rows per `group_by` (GROUPS: department, major or level of a school; school for a province or the
    ministry; province for the ministry), over the graduates `scope` (an SQL condition on graduates g, schools s
    and its arguments: signing.policy.graduate_scope), and the records that reached 已登记 or entered an audit on
    each day."""
    cond, args = scope
    name, key, _ = GROUPS[group_by]
    rows = await db.fetchall(
        f"SELECT {name} AS unit, {key} AS unit_key, COUNT(*) AS total,"
        " SUM(a.state IS NOT NULL AND a.in_flow=0) AS registered, SUM(a.in_flow=1) AS under_audit"
        " FROM graduates g JOIN schools s ON s.id=g.school_id JOIN provinces p ON p.code=s.province_code"
        " LEFT JOIN records a ON a.active_graduate_id=g.id"
        f" WHERE {cond} AND g.cohort=%s AND g.status='valid' GROUP BY {key}, {name} ORDER BY {key}", [*args, cohort])
    for r in rows:
        r["registered"], r["under_audit"] = int(r["registered"] or 0), int(r["under_audit"] or 0)
        r["not_registered"] = r["total"] - r["registered"] - r["under_audit"]
    states = await db.fetchall(
        "SELECT r.kind, r.state, COUNT(*) AS n FROM records r JOIN graduates g ON g.id=r.graduate_id"
        " JOIN schools s ON s.id=g.school_id"
        f" WHERE {cond} AND g.cohort=%s AND r.state NOT IN ('draft','discarded') GROUP BY r.kind, r.state",
        [*args, cohort])
    totals = {k: sum(r[k] for r in rows) for k in ("total", "registered", "under_audit", "not_registered")}
    for r in rows:
        r["rate"] = round(100.0 * r["registered"] / r["total"], 1) if r["total"] else 0.0
    days = await db.fetchall(
        "SELECT DATE(e.created_at) AS day, SUM(e.to_state IN ('signed','registered')) AS registered,"
        " SUM(e.to_state IN " + AUDITS + ") AS submitted FROM record_events e JOIN records r ON r.id=e.record_id"
        " JOIN graduates g ON g.id=r.graduate_id JOIN schools s ON s.id=g.school_id"
        f" WHERE {cond} AND g.cohort=%s AND e.created_at >= CURDATE() - INTERVAL %s DAY AND COALESCE(e.from_state, '')<>e.to_state"
        " GROUP BY DATE(e.created_at) ORDER BY day", [*args, cohort, SEASON_DAYS])
    return {"cohort": cohort, "group": group_by, "group_text": GROUPS[group_by][2], "totals": totals, "rows": rows,
            "days": [{"day": d["day"].isoformat(), "registered": int(d["registered"] or 0),
                      "submitted": int(d["submitted"] or 0)} for d in days],
            "by_state": [{"kind": s["kind"], "kind_text": tt.KINDS[s["kind"]], "state": s["state"],
                          "status_text": tt.status_text(s["state"], None), "count": s["n"]} for s in states]}
