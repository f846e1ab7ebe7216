"""Live statistics (数据统计, SPEC 7): per school or department of the caller's scope, how many graduates,
how many registered (an approved record), under audit, not registered, and how many records in each state."""
from __future__ import annotations

from signing import transitions as tt


async def statistics(db, scope: tuple[str, list], by_department: bool, cohort: int) -> dict:
    """Rows per department (school and department accounts) or per school (province and ministry), over the
    graduates `scope` (an SQL condition on graduates g and its arguments: signing.policy.graduate_scope)."""
    cond, args = scope
    group = "g.department" if by_department else "s.name"
    rows = await db.fetchall(
        f"SELECT {group} AS unit, COUNT(*) AS total,"
        " SUM(a.state IS NOT NULL AND a.in_flow=0) AS registered, SUM(a.in_flow=1) AS under_audit"
        " FROM graduates g JOIN schools s ON s.id=g.school_id"
        " LEFT JOIN records a ON a.active_graduate_id=g.id"
        f" WHERE {cond} AND g.cohort=%s AND g.status='valid' GROUP BY {group} ORDER BY {group}", [*args, cohort])
    for r in rows:
        r["registered"], r["under_audit"] = int(r["registered"] or 0), int(r["under_audit"] or 0)
        r["not_registered"] = r["total"] - r["registered"] - r["under_audit"]
    states = await db.fetchall(
        "SELECT r.kind, r.state, COUNT(*) AS n FROM records r JOIN graduates g ON g.id=r.graduate_id"
        f" WHERE {cond} AND g.cohort=%s AND r.state NOT IN ('draft','discarded') GROUP BY r.kind, r.state",
        [*args, cohort])
    totals = {k: sum(r[k] for r in rows) for k in ("total", "registered", "under_audit", "not_registered")}
    return {"cohort": cohort, "totals": totals, "rows": rows,
            "by_state": [{"kind": s["kind"], "kind_text": tt.KINDS[s["kind"]], "state": s["state"],
                          "status_text": tt.status_text(s["state"], None), "count": s["n"]} for s in states]}
