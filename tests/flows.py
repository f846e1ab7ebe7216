"""Helpers for workflow tests: a school with its people logged in, and short verbs for actions."""
from __future__ import annotations

from datetime import timedelta

from demo.sample_data import make_credit_code
from signing import clock
from signing import transitions as tt

UNIT = {
    "unit_name": "北京示范科技有限公司", "credit_code": make_credit_code(77), "unit_nature": "39",
    "unit_industry": "I", "unit_location": "北京市海淀区", "unit_address": "北京市海淀区中关村大街1号",
    "job_category": "13", "position_title": "软件工程师", "work_location": "北京市", "contact_name": "王经理",
    "contact_mobile": "13800138000", "takes_hukou_archive": True, "supplementary_terms": "试用期三个月。",
}
DESTINATION = {"type_code": "80", "fields": {"school_name": "北京大学", "major": "计算机科学与技术"}}
PROBED: set[tuple[str, str]] = set()  # (kind, state) pairs whose illegal actions were all tried


async def probe_illegal_actions(who, record: dict) -> None:
    """The first time a flow reaches a (kind, state): every action the table lacks there is refused with 409
    (asked by someone who can see the record) and changes nothing."""
    key = (record["kind"], record["state"])
    if key in PROBED:
        return
    PROBED.add(key)
    legal = {t.action for t in tt.actions_from(*key)}
    for action in sorted(set(tt.ACTION_TEXT) - legal):
        resp = await who.post(f"/api/records/{record['id']}/actions/{action}", {})
        assert resp.status == 409 and resp.error == "action_not_allowed", (key, action, resp)
    after = await who.get(f"/api/records/{record['id']}")
    assert (after.json["record"]["state"], after.json["record"]["version"]) == (record["state"], record["version"])


def deadline(days: int = 7) -> str:
    return (clock.now() + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


class Flow:
    """One school (audit mode as given) with a graduate, an employer, a school auditor and a department auditor."""

    def __init__(self, world, client, sql):
        self.world, self.client, self.sql = world, client, sql

    async def setup(self, audit_mode: str = "school", graduates: int = 1, **graduate_kw):
        w = self.world
        self.school = await w.school()
        self.graduates = await w.graduates(self.school, graduates, department="计算机学院", **graduate_kw)
        self.g = self.graduates[0]
        self.employer = await w.employer()
        self.S = await self.login(await w.user("school", school_id=self.school["id"]))
        self.D = await self.login(await w.user("department", school_id=self.school["id"], department="计算机学院"))
        self.E = await self.login(self.employer["username"])
        self.G = await self.login(self.g["username"])
        if audit_mode != "school":
            self.sql("UPDATE school_settings SET audit_mode=%s WHERE school_id=%s", (audit_mode, self.school["id"]))
        return self

    async def login(self, username):
        c = self.client()
        await c.login(username)
        return c

    async def invite(self, employer_client=None, graduate=None, data=None, days=7):
        g = graduate or self.g
        resp = await (employer_client or self.E).post("/api/employer/invitations", {
            "name": g["name"], "id_number": g["id_number"], "deadline": deadline(days), "data": data or UNIT})
        if resp.status == 201:
            await probe_illegal_actions(employer_client or self.E, resp.json["record"])
        return resp

    async def new(self, kind, action="submit", data=None, uploads=(), client=None):
        body = {"kind": kind, "action": action, "data": data or (DESTINATION if kind == "destination" else UNIT)}
        if uploads:
            body["upload_ids"] = list(uploads)
        resp = await (client or self.G).post("/api/graduate/records", body)
        if resp.status == 201:
            await probe_illegal_actions(client or self.G, resp.json["record"])
        return resp

    async def act(self, who, record_id, action, **body):
        current = await who.get(f"/api/records/{record_id}")
        version = current.json["record"]["version"] if current.status == 200 else 0
        resp = await who.post(f"/api/records/{record_id}/actions/{action}", {"version": version, **body})
        if resp.status == 200:
            await probe_illegal_actions(who, resp.json["record"])
        return resp

    def upload(self, kind="paper-agreement", graduate=None) -> int:
        g = graduate or self.g
        self.sql("INSERT INTO uploads (kind, storage_name, sha256, width, height, bytes, graduate_id)"
                 " VALUES (%s, 'ab/test', REPEAT('0', 64), 1200, 1600, 1000, %s)", (kind, g["id"]))
        return self.sql("SELECT MAX(id) AS id FROM uploads")[0]["id"]

    def state(self, record_id):
        return self.sql("SELECT state, audit_stage FROM records WHERE id=%s", (record_id,))[0]

    def outbox(self, record_id, topic=None):
        rows = self.sql("SELECT topic, payload FROM outbox WHERE record_id=%s ORDER BY id", (record_id,))
        return [r for r in rows if topic is None or r["topic"] == topic]


REJECT = {"reason": "单位信息有误", "explanation": "单位名称与营业执照不一致"}
CANCEL = {"reason": "双方协商一致", "explanation": "双方协商一致解除协议"}
