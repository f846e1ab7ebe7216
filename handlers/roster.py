"""Roster: import (学生名单导入), the graduate list (学生名单管理, 失效信息管理), the graduate's own data."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Query
from signing import clock, policy
from signing.eligibility import TRAINING_MODES, cohort_open, may_sign
from signing.errors import DomainError
from signing.personal import id_number_problem, normalize_id_number
from signing.roster_service import confirm_roster_data, import_roster

MAX_ROSTER_BYTES = 20 * 1024 * 1024
LIST_COLUMNS = ("g.id, g.cohort, g.name, g.gender, g.id_masked, g.phone_masked, g.department, g.major, g.level,"
                " g.training_mode, g.student_number, g.status, g.invalidated_at, g.confirmed_at, s.name AS school_name")


class RosterImportHandler(BaseHandler):
    body_limit = MAX_ROSTER_BYTES

    @authorize("roster.import")
    @api("Import the EMS roster file (CSV or XLSX, multipart field 'file'); all rows or none",
         tag="roster", content_type="multipart/form-data",
         responses={"415": "not CSV/XLSX", "422": "bad rows, each with its line number and reasons"})
    async def post(self):
        files = self.request.files.get("file")
        if not files:
            raise DomainError("invalid_input", "请选择要上传的名单文件（字段名file）")
        upload = files[0]
        result = await import_roster(self.db, self.vault, self.current_user, upload.filename, upload.body)
        self.write_json({"import": result.as_dict()})


class GraduateListQuery(Query):
    cohort: int | None = Field(default=None, ge=2000, le=2100)
    status: Literal["valid", "invalid"] | None = None
    department: str | None = Field(default=None, max_length=100)
    level: Literal["专科", "本科", "硕士", "博士"] | None = None
    major: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=50)
    id_number: str | None = Field(default=None, max_length=18)
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=50, ge=1, le=200)


class GraduateListHandler(BaseHandler):
    @authorize("roster.read")
    @api("Graduates on the roster, filtered; ID numbers and phones masked (status=invalid: 失效信息管理)",
         query=GraduateListQuery, tag="roster")
    async def get(self):
        self.write_json(await list_graduates(self.db, self.vault, self.current_user, self.query_args(GraduateListQuery)))


async def list_graduates(db, vault, actor, q: GraduateListQuery) -> dict:
    """The roster in the actor's scope, filtered and paged; ID numbers and phones masked (LIST_COLUMNS)."""
    cond, args = policy.graduate_scope(actor)
    for column in ("cohort", "status", "department", "level", "major", "name"):
        value = getattr(q, column)
        if value is not None and value != "":
            cond += f" AND g.{column}=%s"
            args.append(value)
    if q.id_number:
        if id_number_problem(q.id_number):
            raise DomainError("invalid_id_number")
        cond += " AND g.id_hash=%s"
        args.append(vault.blind_index(normalize_id_number(q.id_number)))
    total = await db.fetchone(f"SELECT COUNT(*) AS n FROM graduates g WHERE {cond}", args)
    rows = await db.fetchall(
        f"SELECT {LIST_COLUMNS} FROM graduates g JOIN schools s ON s.id=g.school_id WHERE {cond}"
        " ORDER BY g.cohort DESC, g.department, g.id LIMIT %s OFFSET %s",
        [*args, q.page_size, (q.page - 1) * q.page_size])
    return {"total": total["n"], "page": q.page, "items": rows}


async def graduate_detail(db, graduate_id: int) -> dict | None:
    row = await db.fetchone(
        "SELECT g.*, s.name AS school_name, s.code AS school_code FROM graduates g"
        " JOIN schools s ON s.id=g.school_id WHERE g.id=%s", (graduate_id,))
    if row is None:
        return None
    for secret in ("id_hash", "id_cipher", "phone_cipher"):
        row.pop(secret)
    row["training_mode_name"] = TRAINING_MODES.get(row["training_mode"])
    row["may_sign"] = may_sign(row["training_mode"])
    row["may_act"] = row["status"] == "valid" and cohort_open(row["cohort"], clock.today())
    return row


class GraduateDetailHandler(BaseHandler):
    @authorize("roster.read")
    @api("One graduate's roster data (详细), masked", tag="roster")
    async def get(self, graduate_id):
        cond, args = policy.graduate_scope(self.current_user)
        visible = await self.db.fetchone(f"SELECT g.id FROM graduates g WHERE g.id=%s AND {cond}",
                                         [int(graduate_id), *args])
        if visible is None:
            raise DomainError("not_found")
        self.write_json({"graduate": await graduate_detail(self.db, int(graduate_id))})


class MyProfileHandler(BaseHandler):
    @authorize("graduate.self")
    @api("My roster data (生源信息) as the school reported it", tag="graduate")
    async def get(self):
        self.write_json({"graduate": await graduate_detail(self.db, self.current_user.graduate_id)})


class ConfirmProfileHandler(BaseHandler):
    @authorize("graduate.self")
    @api("Confirm my roster data (required on first entry; wrong data is corrected by the school in EMS)",
         tag="graduate", responses={"409": "already confirmed or invalid"})
    async def post(self):
        actor = self.current_user
        await confirm_roster_data(self.db, actor)
        self.write_json({"graduate": await graduate_detail(self.db, actor.graduate_id)})


routes = [
    (r"/api/school/roster", RosterImportHandler),
    (r"/api/school/graduates", GraduateListHandler),
    (r"/api/school/graduates/(\d+)", GraduateDetailHandler),
    (r"/api/graduate/profile", MyProfileHandler),
    (r"/api/graduate/profile/confirm", ConfirmProfileHandler),
]
