"""Authorisation, decided here and only here. Handlers declare a permission name per method
(@authorize("roster.import")); services and list queries ask for the caller's scope."""
from __future__ import annotations

from signing.actors import Actor
from signing.errors import DomainError

STAFF = ("ministry", "province", "school", "department")


def _module_read(module: str):
    return lambda a: a.role in ("ministry", "province") or (
        a.role in ("school", "department") and a.permission(module) in ("read_write", "read_only"))


def _module_write(module: str, roles=("school", "department")):
    return lambda a: a.role in roles and a.permission(module) == "read_write"


# permission name -> predicate on the actor
POLICY = {
    "account.self": lambda a: True,
    "province.settings.read": lambda a: a.role in ("ministry", "province"),
    "province.settings.write": lambda a: a.role == "province",
    "school.settings.read": _module_read("employment"),
    "school.settings.write": _module_write("employment", roles=("school",)),
    "roster.read": _module_read("employment"),
    "roster.import": _module_write("employment", roles=("school",)),
    "oplog.read": lambda a: a.role in ("ministry", "province", "school"),
    "graduate.self": lambda a: a.role == "graduate" and a.graduate_id is not None,
    # records: the transition table and signing/rules.py decide each action; these gate the endpoints
    "records.read": lambda a: a.role in ("ministry", "province", "employer", "graduate") or _module_read("employment")(a),
    "records.act": lambda a: a.role in ("employer", "graduate", "school", "department"),
    "school.records.read": _module_read("employment"),
    "employer.self": lambda a: a.role == "employer" and a.employer_id is not None,
    "admin.employers": lambda a: a.role == "admin",
    "uploads.read": lambda a: a.role == "admin" or POLICY["records.read"](a),
    "warnings.read": _module_read("employment"),
    # archive/hukou: the module's own permission is checked by the handler and signing/registrations.py
    "registrations.read": lambda a: a.role in ("ministry", "province", "school", "department"),
    "registrations.review": lambda a: a.role in ("school", "department"),
    "warnings.write": _module_write("employment", roles=("school",)),
    "notify.deliveries.read": _module_read("employment"),
}


def allowed(actor: Actor, permission: str) -> bool:
    return bool(POLICY[permission](actor))


def require(actor: Actor, permission: str) -> None:
    if allowed(actor, permission):
        return
    module_write = permission.endswith((".write", ".import")) and actor.role in ("school", "department")
    raise DomainError("read_only" if module_write and actor.permission() == "read_only" else "forbidden")


def _levels(actor: Actor) -> tuple[str, ...] | None:
    """The levels a school account limited to 本专科 or 研究生 may see (None: every level)."""
    if actor.role != "school" or actor.level_scope == "all":
        return None
    return ("专科", "本科") if actor.level_scope == "undergraduate" else ("硕士", "博士")


def _staff_scope(actor: Actor, alias: str) -> tuple[str, list] | None:
    """The one scope of staff over anything that carries a graduate's school_id, department and level (graduates,
    records, registrations): ministry all, province its schools, school its own (and its level limit),
    department its own department. None for other roles."""
    if actor.role == "ministry":
        return "1=1", []
    if actor.role == "province":
        return f"{alias}.school_id IN (SELECT id FROM schools WHERE province_code=%s)", [actor.province_code]
    if actor.role == "school":
        cond, args = f"{alias}.school_id=%s", [actor.school_id]
        levels = _levels(actor)
        if levels:
            cond += f" AND {alias}.level IN ({','.join(['%s'] * len(levels))})"
            args.extend(levels)
        return cond, args
    if actor.role == "department":
        return f"{alias}.school_id=%s AND {alias}.department=%s", [actor.school_id, actor.department]
    return None


def _staff_or_own_scope(actor: Actor, alias: str, graduate_column: str) -> tuple[str, list]:
    """Staff see their scope; a graduate sees the rows whose `graduate_column` is theirs; anyone else nothing."""
    staff = _staff_scope(actor, alias)
    if staff is not None:
        return staff
    if actor.role == "graduate":
        return f"{alias}.{graduate_column}=%s", [actor.graduate_id]
    return "1=0", []


def graduate_scope(actor: Actor, alias: str = "g") -> tuple[str, list]:
    """SQL condition limiting graduates (and their records) to what the actor may see."""
    return _staff_or_own_scope(actor, alias, "id")


def record_scope(actor: Actor, alias: str = "r") -> tuple[str, list]:
    """SQL condition on records limiting them to what the actor may see."""
    if actor.role in ("school", "department") and actor.permission() == "none":
        return "1=0", []
    if actor.role == "employer":
        return f"{alias}.kind='online' AND {alias}.employer_id=%s", [actor.employer_id]
    return _staff_or_own_scope(actor, alias, "graduate_id")


def registration_scope(actor: Actor, alias: str = "r") -> tuple[str, list]:
    """SQL condition on registrations (档案/户口) limiting them to what the actor may see."""
    return _staff_or_own_scope(actor, alias, "graduate_id")


# the graduate an operation-log entry is about, when it is about one
_OPLOG_GRADUATE = ("CASE target_type"
                   " WHEN 'record' THEN (SELECT graduate_id FROM records WHERE id=CAST(target_id AS UNSIGNED))"
                   " WHEN 'registration' THEN (SELECT graduate_id FROM registrations WHERE id=CAST(target_id AS UNSIGNED))"
                   " WHEN 'graduate' THEN CAST(target_id AS UNSIGNED)"
                   " WHEN 'user' THEN (SELECT graduate_id FROM users WHERE id=CAST(target_id AS UNSIGNED)) END")


def oplog_scope(actor: Actor) -> tuple[str, list]:
    if actor.role == "ministry":
        return "1=1", []
    if actor.role == "province":
        return "province_code=%s", [actor.province_code]
    if actor.role == "school":
        cond, args = "school_id=%s", [actor.school_id]
        if _levels(actor):  # entries about a graduate outside the level limit are not the account's to see
            g_cond, g_args = graduate_scope(actor, "g")
            cond += (f" AND ({_OPLOG_GRADUATE} IS NULL OR {_OPLOG_GRADUATE} IN"
                     f" (SELECT g.id FROM graduates g WHERE {g_cond}))")
            args.extend(g_args)
        return cond, args
    return "user_id=%s", [actor.user_id]


def ensure_school(actor: Actor, school_id: int) -> None:
    """School-level resources: the school's own staff, or its province, or the ministry (reads)."""
    if actor.role in ("school", "department") and actor.school_id != school_id:
        raise DomainError("not_found")
