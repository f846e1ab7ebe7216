"""Employers: registration, certification by the platform administrator, graduate search, invitations."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Body, Query
from handlers.records import id_hash_of
from signing import clock
from signing.accounts import check_password_strength, hash_password
from signing.actors import Actor
from signing.eligibility import may_sign
from signing.errors import DomainError
from signing.oplog import record_operation
from signing.personal import credit_code_problem, is_valid_phone, mask_phone
from signing.records_query import own_records, record_detail
from signing.records_service import ActionInput, start

SEARCHES_PER_HOUR = 30
MAX_DEADLINE_DAYS = 60


class RegisterBody(Body):
    name: str = Field(min_length=2, max_length=200)
    credit_code: str = Field(min_length=18, max_length=18)
    contact_name: str = Field(min_length=1, max_length=50)
    contact_phone: str = Field(min_length=11, max_length=11)
    address: str = Field(min_length=2, max_length=200)
    certification_method: Literal["licence", "bank_transfer"]
    username: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=128)


async def register_employer(handler: BaseHandler, body: RegisterBody) -> tuple[int, str]:
    """The unit and its account, pending certification (the API and the employer pages): (employer id, code)."""
    code = body.credit_code.upper()
    if problem := credit_code_problem(code):
        raise DomainError("invalid_credit_code", problem)
    if not is_valid_phone(body.contact_phone):
        raise DomainError("invalid_input", "联系人手机应为11位手机号码", [{"field": "contact_phone"}])
    check_password_strength(body.password)
    password_hash = await hash_password(body.password)
    async with handler.db.transaction() as cur:
        await cur.execute("SELECT 1 FROM employers WHERE credit_code=%s", (code,))
        if await cur.fetchone():
            raise DomainError("employer_registered")
        await cur.execute("SELECT 1 FROM users WHERE username=%s", (body.username,))
        if await cur.fetchone():
            raise DomainError("username_taken")
        await cur.execute(
            "INSERT INTO employers (name, credit_code, contact_name, contact_phone_cipher, contact_phone_masked,"
            " address, certification_method) VALUES (%s,%s,%s,%s,%s,%s,%s)",
            (body.name, code, body.contact_name, handler.vault.encrypt(body.contact_phone),
             mask_phone(body.contact_phone), body.address, body.certification_method))
        employer_id = cur.lastrowid
        await cur.execute("INSERT INTO users (username, password_hash, role, display_name, employer_id)"
                          " VALUES (%s,%s,'employer',%s,%s)", (body.username, password_hash, body.name, employer_id))
        await record_operation(cur, Actor(user_id=cur.lastrowid, role="employer", name=body.name,
                                          employer_id=employer_id, ip=handler.request.remote_ip),
                               "employer.register", "employer", employer_id, f"单位注册：{body.name}（{code}）")
    return employer_id, code


class RegisterHandler(BaseHandler):
    @authorize(None)
    @api("Register an employer (单位注册); certification is pending until the platform administrator decides",
         body=RegisterBody, tag="employers", responses={"409": "credit code or username already registered"})
    async def post(self):
        body = self.json_body(RegisterBody)
        employer_id, code = await register_employer(self, body)
        self.write_json({"employer": {"id": employer_id, "name": body.name, "credit_code": code,
                                      "certification": "pending"}}, status=201)


class EmployerListQuery(Query):
    certification: Literal["pending", "certified", "refused"] | None = None
    page: int = Field(default=1, ge=1, le=100000)


class AdminEmployersHandler(BaseHandler):
    @authorize("admin.employers")
    @api("Employers by certification state (platform administrator)", query=EmployerListQuery, tag="employers")
    async def get(self):
        q = self.query_args(EmployerListQuery)
        self.write_json({"items": await employers_by_certification(self.db, q.certification, q.page)})


async def employers_by_certification(db, certification: str | None, page: int = 1) -> list[dict]:
    """The certification queue (platform administrator), newest first, 50 a page; phones masked."""
    cond, args = ("certification=%s", [certification]) if certification else ("1=1", [])
    return await db.fetchall(
        "SELECT id, name, credit_code, certification, certification_method, licence_upload_id,"
        " authorisation_upload_id, contact_name, contact_phone_masked,"
        f" address, certification_note, certified_at, created_at FROM employers WHERE {cond}"
        " ORDER BY id DESC LIMIT 50 OFFSET %s", [*args, (page - 1) * 50])


class CertificationBody(Body):
    decision: Literal["certified", "refused"]
    note: str | None = Field(default=None, max_length=500)


class CertificationHandler(BaseHandler):
    @authorize("admin.employers")
    @api("Decide an employer's certification (certified or refused with a note)", body=CertificationBody,
         tag="employers")
    async def post(self, employer_id):
        body = self.json_body(CertificationBody)
        await decide_certification(self.db, self.current_user, int(employer_id), body.decision, body.note)
        self.write_json({"employer": {"id": int(employer_id), "certification": body.decision}})


CERTIFICATION_TEXT = {"pending": "待认证", "certified": "已认证", "refused": "认证未通过"}
CERTIFICATION_METHOD_TEXT = {"licence": "加盖公章的营业执照", "bank_transfer": "对公账号打款确认"}


async def decide_certification(db, actor, employer_id: int, decision: str, note: str | None) -> None:
    """Certify or refuse (a refusal needs its reason) one employer, logged in the same transaction."""
    if decision not in ("certified", "refused"):
        raise DomainError("invalid_input", "请选择通过或不通过")
    if decision == "refused" and not note:
        raise DomainError("explanation_required", "拒绝认证时请填写原因")
    async with db.transaction() as cur:
        await cur.execute("SELECT id, name, certification FROM employers WHERE id=%s FOR UPDATE", (employer_id,))
        employer = await cur.fetchone()
        if employer is None:
            raise DomainError("not_found")
        await cur.execute("UPDATE employers SET certification=%s, certification_note=%s, certified_by=%s,"
                          " certified_at=NOW() WHERE id=%s", (decision, note, actor.user_id, employer["id"]))
        await record_operation(cur, actor, "employer.certification", "employer", employer["id"],
                               f"单位认证：{employer['name']}，{CERTIFICATION_TEXT[employer['certification']]}"
                               f" → {CERTIFICATION_TEXT[decision]}")


class GraduateIdentity(Body):
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=18, max_length=18)


class InvitationBody(GraduateIdentity):
    deadline: str = Field(description="应约截止时间, YYYY-MM-DD HH:MM")
    data: dict


async def find_graduate(handler: BaseHandler, name: str, id_number: str) -> dict:
    """By name plus ID number, so an employer can reach one graduate but never browse the roster. Certified
    employers only: anyone may register, and an answer confirms that a person is a graduate."""
    employer = await handler.db.fetchone("SELECT certification FROM employers WHERE id=%s",
                                         (handler.current_user.employer_id,))
    if employer is None or employer["certification"] != "certified":
        raise DomainError("employer_not_certified", "单位尚未通过实名认证，暂不能查询毕业生或发起签约邀请")
    key = f"employer:search:{handler.current_user.employer_id}"
    count = await handler.redis.incr(key)
    if count == 1:
        await handler.redis.expire(key, 3600)
    if count > SEARCHES_PER_HOUR:
        raise DomainError("rate_limited", "查询过于频繁，请1小时后再试")
    graduate = await handler.db.fetchone(
        "SELECT g.id, g.name, g.cohort, g.department, g.major, g.level, g.training_mode, g.status, s.name AS school_name"
        " FROM graduates g JOIN schools s ON s.id=g.school_id WHERE g.id_hash=%s AND g.name=%s"
        " ORDER BY g.cohort DESC LIMIT 1", (id_hash_of(handler, id_number), name.strip()))
    if graduate is None or graduate["status"] != "valid":
        raise DomainError("graduate_not_found")
    graduate["may_sign"] = may_sign(graduate["training_mode"])
    return graduate


async def invite_graduate(handler: BaseHandler, body: InvitationBody) -> int:
    """The online invitation (API and employer pages): the deadline's window, the graduate found, the record."""
    try:
        deadline = datetime.strptime(body.deadline.strip(), "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise DomainError("invalid_input", "应约截止时间格式应为YYYY-MM-DD HH:MM", [{"field": "deadline"}]) from exc
    now = clock.now()
    if not now + timedelta(hours=1) <= deadline <= now + timedelta(days=MAX_DEADLINE_DAYS):
        raise DomainError("invalid_deadline", f"应约截止时间须在1小时后、{MAX_DEADLINE_DAYS}天以内",
                          [{"field": "deadline"}])
    g = await find_graduate(handler, body.name, body.id_number)
    return await start(handler.db, handler.current_user, "online", "invite", g["id"],
                       ActionInput(data=body.data, deadline=deadline))


class GraduateSearchHandler(BaseHandler):
    @authorize("employer.self")
    @api("Find one graduate to invite by name plus ID number (rate limited)", body=GraduateIdentity,
         tag="employers", responses={"404": "no such graduate", "429": "too many searches"})
    async def post(self):
        body = self.json_body(GraduateIdentity)
        g = await find_graduate(self, body.name, body.id_number)
        self.write_json({"graduate": {"name": g["name"], "school_name": g["school_name"], "department": g["department"],
                                      "major": g["major"], "level": g["level"], "cohort": g["cohort"],
                                      "may_sign": g["may_sign"]}})


class InvitationsHandler(BaseHandler):
    @authorize("employer.self")
    @api("Invite a graduate to sign online, with unit and position data and a response deadline",
         body=InvitationBody, tag="employers",
         responses={"409": "invitation already pending, graduate cannot sign, not certified"})
    async def post(self):
        record_id = await invite_graduate(self, self.json_body(InvitationBody))
        self.write_json({"record": await record_detail(self.db, self.current_user, record_id)}, status=201)

    @authorize("employer.self")
    @api("My invitations and online agreements, each with the actions I may take now", tag="employers")
    async def get(self):
        items = await own_records(self.db, self.current_user)
        self.write_json({"total": len(items), "items": items})


routes = [
    (r"/api/employers/register", RegisterHandler),
    (r"/api/admin/employers", AdminEmployersHandler),
    (r"/api/admin/employers/(\d+)/certification", CertificationHandler),
    (r"/api/employer/graduate-search", GraduateSearchHandler),
    (r"/api/employer/invitations", InvitationsHandler),
]
