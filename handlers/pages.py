"""The graduate's H5 pages inside WeChat: my records, one record with its timeline and action buttons,
the forms to apply, register or edit, and my roster data. Every action goes through the same service as
the JSON API; the buttons shown are the actions the transition table allows now."""
from __future__ import annotations

import json

from handlers.deliveries import my_messages
from handlers.errors import status_and_message
from signing import registrations
from signing import transitions as tt
from signing.codes import AUDIT_REASONS, CANCEL_REASONS, JOB_CATEGORIES, UNIT_INDUSTRIES, UNIT_NATURES
from signing.errors import DomainError
from signing.records_query import own_records, record_detail
from signing.records_service import ActionInput, perform, start
from signing.roster_service import confirm_roster_data
from wechat.pages import HOME_LINKS, WeChatPage, graduate_page

UNIT_FIELDS = [
    ("unit_name", "单位名称", "text"), ("credit_code", "统一社会信用代码", "text"),
    ("unit_nature", "单位性质", UNIT_NATURES), ("unit_industry", "单位行业", UNIT_INDUSTRIES),
    ("unit_location", "单位所在地（省市区）", "text"), ("unit_address", "通讯地址", "text"),
    ("job_category", "职位类别", JOB_CATEGORIES), ("position_title", "职位名称", "text"),
    ("work_location", "工作地点", "text"), ("salary", "薪酬待遇（选填）", "text"), ("report_date", "报到日期（选填）", "date"),
    ("contact_name", "单位联系人", "text"),
    ("contact_phone", "联系人电话（选填）", "text"), ("contact_mobile", "联系人手机", "text"),
    ("contact_email", "联系人邮箱（选填）", "text"),
]
REQUIRED_UNIT_FIELDS = {"unit_name", "credit_code", "unit_nature", "unit_industry", "unit_location", "unit_address",
                        "job_category", "position_title", "work_location", "contact_name", "contact_mobile"}
# The graduate's own words on the buttons (the table's texts name the actor, for the timeline and the staff).
GRADUATE_BUTTONS = {"accept": "接受签约邀请", "refuse": "拒绝签约邀请", "accept_cancel": "同意解约", "refuse_cancel": "拒绝解约"}
# Binding or destructive actions ask first (the form submits as usual without JavaScript).
CONFIRM = {"accept": "接受后将进入学校审核，审核通过即签约生效，且不能再接受其他单位的邀请。确定接受吗？",
           "refuse": "拒绝后该单位的签约邀请即失效。确定拒绝吗？",
           "request_cancel": "解约申请会计入学校规定的解约次数。确定申请解约吗？",
           "apply_cancel": "解约申请会计入学校规定的解约次数。确定申请解约吗？",
           "discard": "删除后暂存的信息不能恢复。确定删除吗？",
           "void": "作废后去向信息失效，需重新登记。确定作废吗？",
           "accept_cancel": "同意后将进入学校审核，审核通过即解除协议。确定同意解约吗？"}
NEW_KINDS = {"offline": "未签就业协议，申请签约", "paper": "已签就业协议，登记信息", "destination": "无需就业协议，登记其他去向"}
UPLOAD_KIND = {"paper": "paper-agreement", "destination": "destination-proof"}
HOME_LINKS += [("/wx/records", "我的签约及毕业去向登记"), ("/wx/messages", "消息记录"), ("/wx/profile", "我的信息")]


def form_data(page: WeChatPage, kind: str) -> dict:
    """The record data from the posted form (the service validates it)."""
    arg = page.get_body_argument
    if kind == "destination":
        fields = {k[6:]: v.strip() for k, vs in page.request.body_arguments.items() if k.startswith("field_")
                  for v in [vs[0].decode("utf-8", "replace")] if v.strip()}
        return {"type_code": arg("type_code", ""), "fields": fields}
    data = {name: arg(name, "").strip() for name, _, _ in UNIT_FIELDS}
    data = {k: v for k, v in data.items() if v}
    if arg("takes_hukou_archive", ""):
        data["takes_hukou_archive"] = arg("takes_hukou_archive") == "yes"
    if arg("supplementary_terms", "").strip():
        data["supplementary_terms"] = arg("supplementary_terms").strip()
    return data


def form_problems(error: DomainError | None) -> dict[str, str]:
    """Field (name, or a destination field's label) -> what to do about it, from a refusal's details, shown
    beside the field."""
    details = error.details if error is not None else None
    if isinstance(details, dict):
        return {str(name): "请填写此项" for name in details.get("missing", [])}
    return {str(d["field"]).split(".")[-1]: "格式不正确，请检查" for d in details or []
            if isinstance(d, dict) and d.get("field")}


def upload_ids(page: WeChatPage) -> list[int]:
    raw = page.get_body_argument("upload_ids", "")
    try:
        return [int(x) for x in raw.split(",") if x.strip()][:20]
    except ValueError as exc:
        raise DomainError("upload_not_found") from exc


async def destination_types(page: WeChatPage) -> list[dict]:
    g = await page.db.fetchone("SELECT training_mode FROM graduates WHERE id=%s", (page.current_user.graduate_id,))
    supplementary = g["training_mode"] in ("21", "41")
    rows = await page.db.fetchall("SELECT * FROM destination_types WHERE supplementary_only=%s ORDER BY sort_order",
                                  (int(supplementary),))
    for r in rows:
        r["fields"] = json.loads(r["fields"])
    return rows


class RecordsPage(WeChatPage):
    @graduate_page
    async def get(self):
        g = await self.db.fetchone("SELECT confirmed_at, training_mode FROM graduates WHERE id=%s",
                                   (self.current_user.graduate_id,))
        if g["confirmed_at"] is None:
            self.redirect("/wx/profile?first=1")
            return
        kinds = NEW_KINDS if g["training_mode"] not in ("21", "41") else {"destination": "定向/委培毕业去向补充登记"}
        records = await own_records(self.db, self.current_user)
        active = next((r for r in records if tt.is_active(r["state"])), None)
        self.render("graduate/records.html", records=records, kinds=kinds, kind_names=tt.KINDS, active=active,
                    button_text=GRADUATE_BUTTONS)


async def active_record_of(page: WeChatPage) -> dict | None:
    """The graduate's record in flow or approved: while there is one, no other can be submitted."""
    return await page.db.fetchone("SELECT id, kind FROM records WHERE active_graduate_id=%s",
                                  (page.current_user.graduate_id,))


class RecordPage(WeChatPage):
    @graduate_page
    async def get(self, record_id):
        record = await record_detail(self.db, self.current_user, int(record_id))
        dtype = None
        if record["kind"] == "destination":
            dtype = await self.db.fetchone("SELECT name, fields FROM destination_types WHERE code=%s",
                                           (record["data"].get("type_code"),))
        labels = {f["name"]: f["label"] for f in json.loads(dtype["fields"])} if dtype else {}
        decision = next((e for e in reversed(record["timeline"]) if e["reason"] and e["role"] in ("department", "school")
                         and e["to_state"] == record["state"]), None)
        self.render("graduate/record.html", r=record, done=self.get_query_argument("done", None), dtype=dtype,
                    decision=decision, button_text=GRADUATE_BUTTONS,
                    labels=labels,
                    action_text=tt.ACTION_TEXT, audit_reasons=AUDIT_REASONS, cancel_reasons=CANCEL_REASONS,
                    unit_fields=UNIT_FIELDS, confirm=CONFIRM)


class RecordActionPage(WeChatPage):
    @graduate_page
    async def post(self, record_id, action):
        if action in ("save", "submit"):  # these take the whole form: never an empty post that wipes the data
            self.redirect(f"/wx/records/{int(record_id)}/edit", status=303)
            return
        back = f"/wx/records/{int(record_id)}"
        if await self.asked_first_about(int(record_id), action, CONFIRM.get(action), back):
            return
        await perform(self.db, self.current_user, int(record_id), action,
                      self.action_input(upload_ids=upload_ids(self)))
        self.redirect(f"/wx/records/{int(record_id)}?done={action}")


class RecordFormPage(WeChatPage):
    """New record (kind in the query) or editing a draft / returned record, then save or submit. A refused
    save or submit shows the same form again with everything typed and every photo uploaded, and the reason."""

    async def _render(self, kind: str, record: dict | None, data: dict | None = None, error: DomainError | None = None,
                      uploads: list[int] = ()):
        if error is not None:
            self.set_status(status_and_message(error.code, error.message)[0])
        self.render("graduate/form.html", kind=kind, kind_name=NEW_KINDS.get(kind, tt.KINDS[kind]), record=record,
                    data=data if data is not None else (record or {}).get("data") or {}, unit_fields=UNIT_FIELDS,
                    types=await destination_types(self) if kind == "destination" else [],
                    upload_kind=UPLOAD_KIND.get(kind), uploads=list(uploads),
                    error=status_and_message(error.code, error.message)[1] if error else None,
                    problems=form_problems(error), required=REQUIRED_UNIT_FIELDS)

    @graduate_page
    async def get(self, record_id=None):
        if record_id is None:
            kind = self.get_query_argument("kind", "")
            if kind not in NEW_KINDS:
                raise DomainError("not_found")
            if await active_record_of(self):  # say so before the graduate types anything
                raise DomainError("active_record_exists")
            await self._render(kind, None)
            return
        record = await record_detail(self.db, self.current_user, int(record_id))
        if not any(a["action"] in ("save", "submit") for a in record["actions"]):
            raise DomainError("action_not_allowed", "该记录当前不能修改")
        await self._render(record["kind"], record)

    @graduate_page
    async def post(self, record_id=None):
        if self.get_body_argument("form", "") != "record":  # not our form: show it rather than save nothing
            self.redirect(self.request.path if record_id else "/wx/records", status=303)
            return
        action = "submit" if self.get_body_argument("submit", "") else "save"
        record = None if record_id is None else await record_detail(self.db, self.current_user, int(record_id))
        kind = record["kind"] if record else self.get_body_argument("kind", "")
        if kind not in NEW_KINDS:
            raise DomainError("not_found")
        data, ids = form_data(self, kind), upload_ids(self)
        try:
            if record is None:
                record_id = await start(self.db, self.current_user, kind, action, self.current_user.graduate_id,
                                        ActionInput(data=data, upload_ids=ids))
            else:
                await perform(self.db, self.current_user, int(record_id), action, ActionInput(
                    version=record["version"], data=data, upload_ids=ids))
        except DomainError as exc:
            await self._render(kind, record, data, exc, ids)
            return
        self.redirect(f"/wx/records/{int(record_id)}?done={action}")


class ProfilePage(WeChatPage):
    @graduate_page
    async def get(self):
        g = await self.db.fetchone(
            "SELECT g.*, s.name AS school_name FROM graduates g JOIN schools s ON s.id=g.school_id WHERE g.id=%s",
            (self.current_user.graduate_id,))
        self.render("graduate/profile.html", g=g, first=self.get_query_argument("first", None))

    @graduate_page
    async def post(self):
        await confirm_roster_data(self.db, self.current_user, repeat_is_error=False)
        self.redirect("/wx/records")


class MessagesPage(WeChatPage):
    @graduate_page
    async def get(self):
        page = self.get_query_argument("page", "1")
        result = await my_messages(self.db, self.current_user.graduate_id, int(page) if page.isdigit() else 1)
        self.render("graduate/messages.html", result=result)


class IndexPage(WeChatPage):
    async def get(self):
        self.render("graduate/index.html", demo=self.config.app_env != "production")


routes = [
    (r"/", IndexPage),
    (r"/wx/records", RecordsPage),
    (r"/wx/records/new", RecordFormPage),
    (r"/wx/records/(\d+)", RecordPage),
    (r"/wx/records/(\d+)/edit", RecordFormPage),
    (r"/wx/records/(\d+)/act/([a-z_]+)", RecordActionPage),
    (r"/wx/profile", ProfilePage),
    (r"/wx/messages", MessagesPage),
]


class RegistrationsPage(WeChatPage):
    """档案 / 户口信息登记 for the graduate: where the archive goes and how the hukou moves."""

    async def show(self, notice: str | None = None):
        rows = await self.db.fetchall("SELECT id FROM registrations WHERE graduate_id=%s",
                                      (self.current_user.graduate_id,))
        mine = {r["module"]: r for r in [await registrations.get(self.db, row["id"]) for row in rows]}
        modules = await self.db.fetchone(
            "SELECT p.module_archive, p.module_hukou FROM graduates g JOIN schools s ON s.id=g.school_id"
            " JOIN provinces p ON p.code=s.province_code WHERE g.id=%s", (self.current_user.graduate_id,))
        self.render("graduate/registrations.html", mine=mine, modules=modules, notice=notice,
                    names=registrations.MODULES, receivers=registrations.ARCHIVE_RECEIVERS,
                    moves=registrations.HUKOU_MOVES, editable=registrations.EDITABLE)

    @graduate_page
    async def get(self):
        await self.show()

    @graduate_page
    async def post(self):
        module = self.get_body_argument("module", "")
        if module not in registrations.MODULES:
            raise DomainError("not_found")
        fields = ("receiver_type", "receiver_name") if module == "archive" else ("move_type",)
        data = {f: self.get_body_argument(f, "").strip() for f in (*fields, "address", "postcode", "contact", "phone")}
        data = {k: v for k, v in data.items() if v}
        submit = bool(self.get_body_argument("submit", ""))
        await registrations.save(self.db, self.current_user, module, data, submit)
        await self.show("已提交审核" if submit else "已暂存")


routes.append((r"/wx/registrations", RegistrationsPage))
HOME_LINKS.append(("/wx/registrations", "档案 / 户口信息登记"))
