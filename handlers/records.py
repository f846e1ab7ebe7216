"""Records: my records, one record with its actions, each action, and the school/department lists."""
from __future__ import annotations

import json
from typing import Literal

from pydantic import ConfigDict, Field

from credit.registration import registration_status
from documents import recognition
from handlers.base import BaseHandler, api, authorize
from handlers.models import Answer, Body, Query
from signing import transitions as tt
from signing.codes import AUDIT_REASONS, CANCEL_REASONS, JOB_CATEGORIES, UNIT_INDUSTRIES, UNIT_NATURES
from signing.errors import DomainError
from signing.personal import id_number_problem, normalize_id_number
from signing.records_query import list_records, own_records, record_detail
from signing.records_service import ActionInput, perform, start

Kind = Literal["online", "offline", "paper", "destination"]


class ActionBody(Body):
    version: int | None = Field(default=None, ge=0, description="the record version the caller saw (stale -> 409)")
    reason: str | None = Field(default=None, max_length=50)
    explanation: str | None = Field(default=None, max_length=1000)
    data: dict | None = None
    changes: dict | None = None
    upload_ids: list[int] = Field(default_factory=list, max_length=20)


class NewRecordBody(Body):
    kind: Literal["offline", "paper", "destination"]
    action: Literal["save", "submit"]
    data: dict
    upload_ids: list[int] = Field(default_factory=list, max_length=20)


class RecordListQuery(Query):
    kind: Kind | None = None
    initiator: Literal["employer", "graduate"] | None = None
    state: str | None = Field(default=None, max_length=80,
                              description="a state, or several states of the same text comma-separated")
    audit_stage: Literal["department", "school"] | None = None
    department: str | None = Field(default=None, max_length=100)
    level: Literal["专科", "本科", "硕士", "博士"] | None = None
    major: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=50)
    id_number: str | None = Field(default=None, max_length=18)
    cohort: int | None = Field(default=None, ge=2000, le=2100, description="届别; the current cohort when absent")
    sort: Literal["updated", "state", "name"] = Field(default="updated", description="更新时间, 状态 or 姓名")
    order: Literal["desc", "asc"] = "desc"
    page: int = Field(default=1, ge=1, le=100000, description="jump to this page (ignored with a cursor)")
    cursor: str | None = Field(default=None, max_length=400,
                               description="the `next` or `prev` of the previous answer: a keyset page")
    page_size: int = Field(default=50, ge=1, le=200)

    def filters(self) -> dict:
        """The filters of the list, states checked against the table (an unknown one is a 400)."""
        if self.state and not all(s in tt.STATE_TEXT for s in self.state.split(",")):
            raise DomainError("invalid_input", "未知的状态")
        return self.model_dump(include={"kind", "initiator", "state", "audit_stage", "department", "level", "major",
                                        "name", "cohort"})


async def list_page(handler: BaseHandler, q: RecordListQuery) -> dict:
    return await list_records(handler.db, handler.redis, handler.current_user, q.filters(), q.page, q.page_size,
                              id_hash_of(handler, q.id_number), q.sort, q.order == "desc", q.cursor)


class RecordAction(Answer):
    action: str
    text: str = Field(description="the button's Chinese text")
    needs: list[str] = Field(description="what the action needs: reason, explanation, uploads…")
    editable: list[str]


class RecordEvent(Answer):
    id: int
    action: str
    action_text: str
    from_state: str | None
    to_state: str
    role: str
    actor_name: str | None
    reason: str | None
    explanation: str | None
    changes: dict | list | None
    created_at: str


class RecordGraduate(Answer):
    id: int
    name: str
    id_masked: str
    school_name: str
    department: str
    major: str
    level: str
    status: Literal["valid", "invalid"]


class Record(Answer):
    """The main fields; the audit view adds the roster beside the record (roster, roster_differences, …)."""
    model_config = ConfigDict(extra="allow")
    id: int
    kind: Literal["online", "offline", "paper", "destination"]
    kind_text: str
    state: str
    status_text: str = Field(description="the seeds' Chinese status text, e.g. 学生已同意签约，等待学校审核")
    version: int = Field(description="send it back with the next action (a stale one answers 409 stale_version)")
    graduate_id: int
    school_id: int
    cohort: int
    employer_id: int | None
    agreement_number: str | None
    data: dict | None
    actions: list[RecordAction] = Field(description="what the caller may do now (the transition table)")
    timeline: list[RecordEvent]
    graduate: RecordGraduate
    uploads: list[dict]
    unit_warning: dict | None


class RecordAnswer(Answer):
    record: Record


class MyRecordsHandler(BaseHandler):
    @authorize("graduate.self")
    @api("My records and invitations (我的签约及毕业去向登记), each with the actions I may take now", tag="graduate")
    async def get(self):
        items = await own_records(self.db, self.current_user)
        self.write_json({"total": len(items), "items": items})

    @authorize("graduate.self")
    @api("Start an offline signing, a paper registration or a destination registration (save a draft or submit)",
         body=NewRecordBody, tag="graduate", responses={"409": "active record exists, not allowed for this graduate"},
         response=RecordAnswer)
    async def post(self):
        body = self.json_body(NewRecordBody)
        record_id = await start(self.db, self.current_user, body.kind, body.action, self.current_user.graduate_id,
                                ActionInput(data=body.data, upload_ids=body.upload_ids))
        self.write_json({"record": await record_detail(self.db, self.current_user, record_id)}, status=201)


class RecordHandler(BaseHandler):
    @authorize("records.read")
    @api("One record with its timeline and the actions the caller may take now", tag="records",
         response=RecordAnswer)
    async def get(self, record_id):
        self.write_json({"record": await record_detail(self.db, self.current_user, int(record_id))})


class RecordActionHandler(BaseHandler):
    @authorize("records.act")
    @api("Take an action on a record (the transition table decides; illegal in this state -> 409)",
         body=ActionBody, tag="records",
         responses={"403": "not this caller's action", "404": "no such record for this caller",
                    "409": "illegal in this state, stale version, rule broken"}, response=RecordAnswer)
    async def post(self, record_id, action):
        body = self.json_body(ActionBody)
        await perform(self.db, self.current_user, int(record_id), action, ActionInput(
            version=body.version, reason=body.reason, explanation=body.explanation, data=body.data,
            changes=body.changes, upload_ids=body.upload_ids))
        self.write_json({"record": await record_detail(self.db, self.current_user, int(record_id))})


def id_hash_of(handler: BaseHandler, id_number: str | None) -> str | None:
    if not id_number:
        return None
    if id_number_problem(id_number):
        raise DomainError("invalid_id_number")
    return handler.vault.blind_index(normalize_id_number(id_number))


class SchoolRecordsHandler(BaseHandler):
    @authorize("school.records.read")
    @api("Records of my school (department: my department; province: its schools; ministry: all) of one cohort,"
         " filtered and sorted; `total`/`pages` from a cached count, `next`/`prev` cursors for keyset pages",
         query=RecordListQuery, tag="audit")
    async def get(self):
        self.write_json(await list_page(self, self.query_args(RecordListQuery)))


class AuditViewHandler(BaseHandler):
    @authorize("school.records.read")
    @api("The audit view: the record, the unit, the timeline, uploads, and the graduate's platform data beside"
         " the EMS roster data", tag="audit")
    async def get(self, record_id):
        record = await record_detail(self.db, self.current_user, int(record_id), audit_view=True)
        await recognition.annotate_uploads(self.db, record)  # what was read from each agreement photo
        # 国家企业信用信息公示系统: the unit's registration status, or "check manually" when unreachable
        record["unit_registration"] = await registration_status(
            self.redis, self.config.credit_service_url, (record["data"] or {}).get("credit_code"))
        self.write_json({"record": record})


class DestinationField(Answer):
    name: str
    label: str


class DestinationType(Answer):
    code: str
    name: str
    category: str
    supplementary_only: int = Field(description="1: the one type training modes 21/41 may file")
    fields: list[DestinationField]
    proofs: str
    proof_required: int
    sort_order: int


class DestinationTypes(Answer):
    items: list[DestinationType]


class Codes(Answer):
    unit_natures: dict[str, str] = Field(description="code -> 单位性质")
    unit_industries: dict[str, str]
    job_categories: dict[str, str]
    audit_reasons: list[str]
    cancel_reasons: list[str]
    kinds: dict[str, str]
    states: dict[str, str] = Field(description="state -> its Chinese status text")
    actions: dict[str, str]


class DestinationTypesHandler(BaseHandler):
    @authorize("records.read")
    @api("Destination types with their required fields and proofs (graduates see only the types open to them)",
         tag="records", response=DestinationTypes)
    async def get(self):
        rows = await self.db.fetchall("SELECT * FROM destination_types ORDER BY sort_order")
        if self.current_user.role == "graduate":
            g = await self.db.fetchone("SELECT training_mode FROM graduates WHERE id=%s", (self.current_user.graduate_id,))
            supplementary = g["training_mode"] in ("21", "41")
            rows = [r for r in rows if bool(r["supplementary_only"]) == supplementary]
        for r in rows:
            r["fields"] = json.loads(r["fields"])
        self.write_json({"items": rows})


class CodesHandler(BaseHandler):
    @authorize(None)
    @api("Code lists for the forms: unit natures, industries, job categories, audit and cancellation reasons",
         tag="records", response=Codes)
    async def get(self):
        self.write_json({"unit_natures": UNIT_NATURES, "unit_industries": UNIT_INDUSTRIES,
                         "job_categories": JOB_CATEGORIES, "audit_reasons": AUDIT_REASONS,
                         "cancel_reasons": CANCEL_REASONS, "kinds": tt.KINDS, "states": tt.STATE_TEXT,
                         "actions": tt.ACTION_TEXT})


routes = [
    (r"/api/graduate/records", MyRecordsHandler),
    (r"/api/records/(\d+)", RecordHandler),
    (r"/api/records/(\d+)/actions/([a-z_]+)", RecordActionHandler),
    (r"/api/school/records", SchoolRecordsHandler),
    (r"/api/school/records/(\d+)/audit", AuditViewHandler),
    (r"/api/destination-types", DestinationTypesHandler),
    (r"/api/codes", CodesHandler),
]
