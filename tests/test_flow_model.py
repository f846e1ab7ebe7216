"""A model-based test of the flows of SPEC §4 (Hypothesis state machine) against the real service layer and
MariaDB, in both audit modes and both agreement types.

The reference model below is written from SPEC §4 and the seeds, not from signing/transitions.py: for each
record it knows the state, the audit stage and whether an auditor has acted, and for each graduate what EMS
must hold. Random sequences of actions by every role (graduates, employers, the school, its department, a
read-only school account, the system) over all four kinds, with returns, rejections, withdrawals, the three
cancellation routes, edits after approval, 失效 and restore, and deadline expiry. After every step:
- the actions the service offers the actor are exactly those the model allows, each offered one succeeds
  with valid input and lands where the model says, and each other one is refused;
- EMS (the emulator, after the outbox drains through the real EmsSync) holds what the model says: the
  approved record's destination, or 待就业, or nothing; never a value from a record still in audit;
- every notification names the stage that decided (学院/学校, 审核/鉴证) and carries the reason;
- at most one active record per graduate; an event and outbox rows exist for each change and only then.
`--hypothesis-profile=long` runs at least 2,000 steps and prints the count."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from demo.sample_data import roster_csv
from ems.sync import EmsSync
from emulators.ems import make_emulator_app
from notify.templates import sms_message, wechat_message
from server.app import Application
from signing import clock
from signing.accounts import load_actor
from signing.actors import SYSTEM
from signing.codes import AUDIT_REASONS, CANCEL_REASONS
from signing.errors import DomainError
from signing.expiry import expire_invitations
from signing.records_query import record_detail
from signing.records_service import ActionInput, perform, start
from signing.roster_service import import_roster
from signing.settings_service import update_school_settings
from signing.transitions import ACTION_TEXT
from tests.flows import DESTINATION, UNIT
from tests.support import World

STEPS = {"steps": 0, "changes": 0, "refusals": 0}  # in this session, printed by conftest's terminal summary

# --- the reference model (SPEC §4) ------------------------------------------------------------------------
FIRST_AUDIT = {"offline": "agreement_audit", "paper": "registration_audit", "destination": "destination_audit"}
APPROVES_TO = {"online_audit": "signed", "agreement_audit": "agreement_approved", "signing_audit": "signed",
               "registration_audit": "signed", "destination_audit": "registered",
               "cancel_audit_online": "cancelled", "cancel_audit": "cancelled"}
RETURNS_TO = {"agreement_audit": "agreement_returned", "signing_audit": "signing_returned",
              "registration_audit": "registration_returned", "destination_audit": "destination_returned",
              "cancel_audit": "cancel_returned"}
REJECTS_TO = {"online_audit": "audit_failed", "agreement_audit": "agreement_void", "signing_audit": "signing_void",
              "registration_audit": "registration_void", "destination_audit": "destination_void",
              "cancel_audit_online": "signed", "cancel_audit": "signed"}  # a refused cancellation: the agreement stands
WITHDRAWS_TO = {"agreement_audit": "draft", "registration_audit": "draft", "destination_audit": "draft",
                "signing_audit": "agreement_approved", "cancel_audit": "cancel_returned"}
RESUBMITS_TO = {v: k for k, v in RETURNS_TO.items() if k not in ("signing_audit", "cancel_audit")}
REFRESHABLE = {"online_audit", "agreement_audit", "registration_audit", "destination_audit"}
INACTIVE = {"new", "draft", "invited", "refused", "expired", "audit_failed", "agreement_void", "signing_void",
            "registration_void", "destination_void", "voided", "discarded", "cancelled"}
VERIFIED = {"online_audit", "signing_audit", "cancel_audit_online", "cancel_audit"}  # 鉴证 under two-party
MAX_CANCELLATIONS = 3
EMPLOYED, UNEMPLOYED = "employed", "unemployed"


@dataclasses.dataclass
class Rec:
    id: int
    kind: str
    graduate: int
    employer: int | None
    state: str
    stage: str | None = None
    touched: bool = False
    past_deadline: bool = False
    job_category: str = UNIT["job_category"]
    fields: dict = dataclasses.field(default_factory=lambda: dict(DESTINATION["fields"]))


@dataclasses.dataclass(frozen=True)
class Move:
    state: str
    stage: str | None  # the audit stage after the move ("first": the first stage of the school's mode)
    ems: str | None = None  # EMPLOYED: the destination goes to EMS; UNEMPLOYED: 待就业


class Model:
    def __init__(self, department_first: bool):
        self.first_stage = "department" if department_first else "school"
        self.records: dict[int, Rec] = {}
        self.valid: dict[int, bool] = {}
        self.cancellations: dict[int, int] = {}
        self.ems: dict[int, tuple] = {}  # graduate -> what EMS must hold

    def active_other(self, graduate: int, record_id: int | None) -> bool:
        return any(r.graduate == graduate and r.state not in INACTIVE and r.id != record_id
                   for r in self.records.values())

    def moves(self, role: str, who: int | None, r: Rec) -> dict[str, Move]:
        """What `role` (graduate/employer id `who`) may do to record r now, and where each action leads."""
        if not self.valid[r.graduate] or role == "read_only":
            return {}
        if role == "graduate" and who != r.graduate or role == "employer" and who != r.employer:
            return {}
        m: dict[str, Move] = {}
        s, first = r.state, "first"
        auditor = role in ("department", "school") and r.stage == role
        if role == "graduate":
            if s in ("draft",) or s in RESUBMITS_TO:
                m["save"] = Move(s, None)
                m["submit"] = Move(FIRST_AUDIT[r.kind] if s == "draft" else RESUBMITS_TO[s], first)
            if s == "draft":
                m["discard"] = Move("discarded", None)
            if s in WITHDRAWS_TO and not r.touched:
                m["withdraw"] = Move(WITHDRAWS_TO[s], None)
            if s == "invited" and not r.past_deadline:
                m["accept"], m["refuse"] = Move("online_audit", first), Move("refused", None)
            if s in ("agreement_approved", "signing_returned"):
                m["upload_stamped"] = Move("signing_audit", first)
            if s == "signed" and self.cancellations[r.graduate] < MAX_CANCELLATIONS:
                if r.kind == "online":
                    m["request_cancel"] = Move("cancel_pending_employer", None)
                else:
                    m["apply_cancel"] = Move("cancel_audit", first)
            if s == "cancel_pending_graduate":
                m["accept_cancel"], m["refuse_cancel"] = Move("cancel_audit_online", first), Move("signed", None)
            if s == "cancel_returned":
                m["resubmit_cancel"], m["abandon_cancel"] = Move("cancel_audit", first), Move("signed", None)
            if s == "registered":
                m["void"] = Move("voided", None, UNEMPLOYED)
        elif role == "employer":
            if s == "invited":
                m["revoke"] = Move("discarded", None)
            if s == "signed":
                m["request_cancel"] = Move("cancel_pending_graduate", None)
            if s == "cancel_pending_employer":
                m["accept_cancel"], m["refuse_cancel"] = Move("cancel_audit_online", first), Move("signed", None)
        elif role == "system":
            if s == "invited" and r.past_deadline:
                m["expire"] = Move("expired", None)
        if auditor:
            if r.stage == "department":  # department then school: the school decides next
                m["pass"] = Move(s, "school")
            else:
                approved = APPROVES_TO[s]
                m["pass"] = Move(approved, None, UNEMPLOYED if approved == "cancelled"
                                 else EMPLOYED if approved in ("signed", "registered") else None)
            m["reject"] = Move(REJECTS_TO[s], None)
            if s in RETURNS_TO:
                m["return"] = Move(RETURNS_TO[s], None)
            if s in REFRESHABLE:
                m["refresh_graduate"] = Move(s, r.stage)
            if s == "destination_audit":
                m["edit_destination"] = Move(s, r.stage)
            if s == "cancel_audit" and role == "school":
                m["pass_unilateral"] = Move("cancelled", None, UNEMPLOYED)
        if role == "school":
            if s == "signed":
                m["edit_after_approval"] = Move("signed", None, EMPLOYED)
            if s == "cancel_pending_employer":
                m["force_cancel"] = Move("cancelled", None, UNEMPLOYED)
        # one record in flow or approved per graduate
        return {a: mv for a, mv in m.items() if s not in INACTIVE or mv.state in INACTIVE
                or not self.active_other(r.graduate, r.id)}

    def entry_moves(self, role: str, who: int | None, graduate: int, kind: str) -> dict[str, Move]:
        """Creating a record of `kind` for `graduate`."""
        if not self.valid[graduate]:
            return {}
        if role == "employer" and kind == "online":
            pending = any(r.employer == who and r.graduate == graduate and r.state == "invited"
                          for r in self.records.values())
            return {} if pending else {"invite": Move("invited", None)}
        if role == "graduate" and who == graduate and kind != "online":
            m = {"save": Move("draft", None)}
            if not self.active_other(graduate, None):
                m["submit"] = Move(FIRST_AUDIT[kind], "first")
            return m
        return {}

    def apply(self, r: Rec, action: str, mv: Move, role: str) -> None:
        r.stage = self.first_stage if mv.stage == "first" else mv.stage
        if mv.stage == "first":
            r.touched = False
        elif role in ("department", "school") and action not in ("edit_after_approval", "force_cancel"):
            r.touched = True
        r.state = mv.state
        if role == "graduate" and action in ("request_cancel", "apply_cancel"):
            self.cancellations[r.graduate] += 1
        if action == "edit_after_approval":
            r.job_category = "11" if r.job_category != "11" else "13"
        if mv.ems == EMPLOYED:
            self.ems[r.graduate] = (EMPLOYED, r.id, r.job_category if r.kind != "destination" else None)
        elif mv.ems == UNEMPLOYED:
            self.ems[r.graduate] = (UNEMPLOYED,)


# --- the machine ------------------------------------------------------------------------------------------
MODES = [(audit, agreement) for audit in ("school", "department_then_school")
         for agreement in ("three_party", "two_party")]
_unique = itertools.count(1)
# (kind, action) that create a record, and a few that never can
ENTRIES = [("online", "invite"), ("offline", "submit"), ("paper", "submit"), ("destination", "submit"),
           ("offline", "save"), ("paper", "save"), ("destination", "save"), ("online", "submit"), ("paper", "invite")]


class Harness:
    """The real pieces the machine drives: the app's database on one event loop, and the EMS emulator."""

    def __init__(self, config):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        sock, port = bind_unused_port()
        self.ems_app = make_emulator_app()
        self.ems_server = HTTPServer(self.ems_app)
        self.ems_server.add_sockets([sock])
        self.app = Application(dataclasses.replace(config, ems_sync_url=f"http://127.0.0.1:{port}/api/sync"))
        self.run(self.app.start())
        self.world = World(self.app)
        self.ems = EmsSync(self.app.db, self.app.vault, self.app.config.ems_sync_url)

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self):
        self.ems_server.stop()
        self.run(self.app.stop())
        self.loop.close()


class FlowMachine(RuleBasedStateMachine):
    harness: Harness
    mode: tuple[str, str]

    @initialize()
    def school(self):
        h, (audit_mode, agreement_type) = self.harness, self.mode
        w = h.world
        self.model = Model(audit_mode == "department_then_school")
        self.s = h.run(w.school(agreement_type=agreement_type))
        self.rows = w.roster_rows(self.s, 2, department="计算机学院")
        h.run(w.import_rows(self.rows))
        self.graduates = []
        for row in self.rows:
            g = h.run(h.app.db.fetchone("SELECT id FROM graduates WHERE id_hash=%s AND cohort=%s",
                                        (h.app.vault.blind_index(row["身份证号"]), self.s["cohort"])))
            username = h.run(w.user("graduate", graduate_id=g["id"]))
            self.graduates.append((g["id"], self.actor(username), row["身份证号"]))
            self.model.valid[g["id"]], self.model.cancellations[g["id"]] = True, 0
        employers = [h.run(w.employer()) for _ in range(2)]
        self.employers = [(e["id"], self.actor(e["username"])) for e in employers]
        self.school_actor = self.actor(h.run(w.user("school", school_id=self.s["id"])))
        self.department = self.actor(h.run(w.user("department", school_id=self.s["id"], department="计算机学院")))
        self.read_only = self.actor(h.run(w.user("school", school_id=self.s["id"],
                                                 permissions={"employment": "read_only"})))
        if audit_mode != "school":
            h.run(update_school_settings(h.app.db, SYSTEM, self.s["id"], self.s["cohort"],
                                         {"audit_mode": audit_mode}))

    def actor(self, username: str):
        u = self.harness.run(self.harness.app.db.fetchone(
            "SELECT id, session_version FROM users WHERE username=%s", (username,)))
        return self.harness.run(load_actor(self.harness.app.db, u["id"], u["session_version"]))

    def actors(self):
        """(role in the model, id the model knows them by, Actor)"""
        return ([("graduate", gid, a) for gid, a, _ in self.graduates]
                + [("employer", eid, a) for eid, a in self.employers]
                + [("school", None, self.school_actor), ("department", None, self.department),
                   ("read_only", None, self.read_only), ("system", None, SYSTEM)])

    # -- input an action needs, valid -------------------------------------------------------------------
    def upload(self, kind: str, graduate: int) -> int:
        async def insert():
            async with self.harness.app.db.transaction() as cur:
                await cur.execute("INSERT INTO uploads (kind, storage_name, sha256, width, height, bytes, graduate_id)"
                                  " VALUES (%s, 'ab/model', REPEAT('0', 64), 1200, 1600, 1000, %s)", (kind, graduate))
                return cur.lastrowid
        return self.harness.run(insert())

    def valid_input(self, kind: str, action: str, state: str, graduate: int, rec: Rec | None) -> ActionInput:
        inp = ActionInput(version=None)
        if action in ("return", "reject", "request_cancel", "apply_cancel", "resubmit_cancel"):
            inp.reason = (CANCEL_REASONS if "cancel" in action else AUDIT_REASONS)[0]
        if action in ("return", "reject", "request_cancel", "apply_cancel", "resubmit_cancel", "refuse_cancel",
                      "force_cancel", "pass_unilateral"):
            inp.explanation = f"说明{next(_unique)}"
        if action in ("save", "submit", "invite"):
            inp.data = dict(DESTINATION if kind == "destination" else UNIT)
        if action == "invite":
            inp.deadline = clock.now() + timedelta(days=7)
        if action == "submit" and state in ("new", "draft") and kind in ("paper", "destination"):
            inp.upload_ids = [self.upload("paper-agreement" if kind == "paper" else "destination-proof", graduate)]
        if action == "upload_stamped":
            inp.upload_ids = [self.upload("stamped-agreement", graduate)]
        if action == "apply_cancel":
            inp.upload_ids = [self.upload("cancellation-letter", graduate)]
        if action == "edit_after_approval":
            inp.changes = {"job_category": "11" if rec.job_category != "11" else "13"}
        if action == "edit_destination":
            inp.changes = {"fields": {"school_name": f"清华大学{next(_unique)}", "major": "软件工程"}}
        return inp

    # -- rules ------------------------------------------------------------------------------------------
    def has_records(self) -> bool:
        return bool(getattr(self, "model", None) and self.model.records)

    @precondition(has_records)
    @rule(data=st.data())
    def act(self, data):
        """An actor takes an action on a record: mostly one the service offers, sometimes any other."""
        h = self.harness
        rnd = data.draw(st.randoms(use_true_random=False))  # uniform choices, still replayed and shrunk
        live = [r for r in sorted(self.model.records) if any(self.model.moves(a[0], a[1], self.model.records[r])
                                                             for a in self.actors())]
        rec = self.model.records[rnd.choice(live if live and rnd.random() < 0.9 else sorted(self.model.records))]
        busy = [a for a in self.actors() if self.model.moves(a[0], a[1], rec)]
        role, who, actor = rnd.choice(busy if busy and rnd.random() < 0.8 else self.actors())
        expected = self.model.moves(role, who, rec)
        if role in ("graduate", "employer", "school", "department", "read_only"):
            try:
                offered = {a["action"] for a in h.run(record_detail(h.app.db, actor, rec.id))["actions"]}
            except DomainError as exc:
                assert exc.code == "not_found", exc.code
                offered = set()
            assert offered == set(expected), (rec, role, offered, set(expected))
        action = rnd.choice(sorted(expected) if expected and rnd.random() < 0.8 else sorted(ACTION_TEXT))
        self.take(actor, role, rec, action, expected.get(action))

    act_again = precondition(has_records)(rule(data=st.data())(lambda self, data: self.act(data)))
    act_once_more = precondition(has_records)(rule(data=st.data())(lambda self, data: self.act(data)))

    @rule(data=st.data(), entry=st.sampled_from(ENTRIES))
    def create(self, data, entry):
        """A graduate starts a registration, or an employer invites a graduate."""
        kind, action = entry
        rnd = data.draw(st.randoms(use_true_random=False))
        gid, _, _ = rnd.choice(self.graduates)
        fitting = [a for a in self.actors() if self.model.entry_moves(a[0], a[1], gid, kind).get(action)]
        role, who, actor = rnd.choice(fitting if fitting and rnd.random() < 0.8 else self.actors())
        mv = self.model.entry_moves(role, who, gid, kind).get(action)
        h, before = self.harness, self.counts()
        inp = self.valid_input(kind, action, "new", gid, None)
        try:
            record_id = h.run(start(h.app.db, actor, kind, action, gid, inp))
        except DomainError as exc:
            assert mv is None, (kind, action, role, exc.code, exc.message)
            assert self.counts() == before
            STEPS["refusals"] += 1
            return
        assert mv is not None, (kind, action, role, "succeeded where the model refuses")
        rec = Rec(record_id, kind, gid, who if role == "employer" else None, "new")
        self.model.records[record_id] = rec
        self.model.apply(rec, action, mv, role)
        self.check_landing(rec, before, action)

    def take(self, actor, role, rec: Rec, action: str, mv: Move | None):
        h, before = self.harness, self.counts()
        inp = self.valid_input(rec.kind, action, rec.state, rec.graduate, rec)
        current = h.run(h.app.db.fetchone("SELECT version FROM records WHERE id=%s", (rec.id,)))
        inp.version = current["version"]
        try:
            h.run(perform(h.app.db, actor, rec.id, action, inp))
        except DomainError as exc:
            assert mv is None, (rec, role, action, "refused", exc.code, exc.message)
            assert self.counts() == before, "a refused action wrote something"
            STEPS["refusals"] += 1
            return
        assert mv is not None, (rec, role, action, "succeeded where the model refuses")
        self.model.apply(rec, action, mv, role)
        self.check_landing(rec, before, action)

    def invitations(self, past: bool) -> list[int]:
        return sorted(r.id for r in getattr(self, "model", Model(False)).records.values()
                      if r.state == "invited" and r.past_deadline == past)

    @precondition(lambda self: self.invitations(past=False))
    @rule(data=st.data())
    def deadline_passes(self, data):
        """Time passes beyond an invitation's deadline (应约截止时间)."""
        invited = self.invitations(past=False)
        if data.draw(st.randoms(use_true_random=False)).random() < 0.5:  # rarer than actions
            return
        rec = self.model.records[data.draw(st.randoms(use_true_random=False)).choice(invited)]
        async def past():
            async with self.harness.app.db.transaction() as cur:
                await cur.execute("UPDATE records SET deadline=%s WHERE id=%s",
                                  (clock.now() - timedelta(minutes=1), rec.id))
        self.harness.run(past())
        rec.past_deadline = True

    @precondition(lambda self: self.invitations(past=True))
    @rule()
    def expiry_job(self):
        """The expire-invitations job: every invitation of a valid graduate past its deadline expires."""
        self.harness.run(expire_invitations(self.harness.app.db))
        for r in self.model.records.values():
            if r.state == "invited" and r.past_deadline and self.model.valid[r.graduate]:
                r.state = "expired"

    @rule(index=st.integers(0, 1), data=st.data())
    def reimport_roster(self, index, data):
        """The school imports a roster without one graduate (失效), or the full roster again (restored)."""
        if data.draw(st.randoms(use_true_random=False)).random() < 0.7:  # rarer than actions
            return
        gid = self.graduates[index][0]
        self.model.valid[gid] = not self.model.valid[gid]
        rows = [row for row, (g, _, _) in zip(self.rows, self.graduates, strict=True) if self.model.valid[g]]
        if not rows:  # an empty roster is no roster: keep one graduate invalid at a time
            self.model.valid[gid] = True
            return
        self.harness.run(import_roster(self.harness.app.db, self.harness.app.vault, SYSTEM, "roster.csv",
                                       roster_csv(rows)))

    # -- checks -----------------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        row = self.harness.run(self.harness.app.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM record_events e JOIN records r ON r.id=e.record_id WHERE r.school_id=%s) AS events,"
            " (SELECT COUNT(*) FROM outbox o JOIN records r ON r.id=o.record_id WHERE r.school_id=%s) AS outbox",
            (self.s["id"], self.s["id"])))
        return row["events"], row["outbox"]

    def check_landing(self, rec: Rec, before: tuple[int, int], action: str) -> None:
        STEPS["changes"] += 1
        h = self.harness
        row = h.run(h.app.db.fetchone("SELECT state, audit_stage FROM records WHERE id=%s", (rec.id,)))
        assert (row["state"], row["audit_stage"]) == (rec.state, rec.stage), (action, row, rec)
        events, outbox = self.counts()
        assert events == before[0] + 1, "one event per change"
        new_rows = h.run(h.app.db.fetchall(
            "SELECT topic, payload FROM outbox WHERE record_id=%s ORDER BY id DESC LIMIT %s",
            (rec.id, outbox - before[1]))) if outbox > before[1] else []
        for r in new_rows:
            if r["topic"] == "notify":
                self.check_notification(json.loads(r["payload"]))

    def check_notification(self, p: dict) -> None:
        context = {"graduate_name": "张三", "school_name": "测试大学", "department": "计算机学院", "at": clock.now()}
        config = self.harness.app.config
        sms_text = sms_message(config, p, context)[0]
        wechat = wechat_message(config, p, context)[0]
        if p["template"] == "audit_result":
            who = "学院" if p["actor_role"] == "department" else "学校"
            assert who in sms_text and who in wechat, (p, sms_text, wechat)
            if p["reason"]:
                assert p["reason"] in sms_text and p["reason"] in wechat, (p, sms_text)
            verified = self.mode[1] == "two_party" and p["from_state"] in VERIFIED
            if p["state"] not in RETURNS_TO.values():
                assert ("鉴证" if verified else "审核") in sms_text, (p, sms_text)
        if p["template"] in ("cancel_request", "forced_cancellation") and p.get("explanation"):
            assert p["explanation"] in sms_text, (p, sms_text)

    @invariant()
    def ems_holds_what_the_model_says(self):
        if not hasattr(self, "model"):
            return
        STEPS["steps"] += 1
        h = self.harness
        while h.run(h.ems.run_once()):
            pass
        for gid, _, id_number in self.graduates:
            held = h.ems_app.state.current.get(id_number)
            want = self.model.ems.get(gid)
            if want is None:
                assert held is None, (gid, held)
            elif want[0] == UNEMPLOYED:
                assert held["status"] == "unemployed" and held["destination"]["name"] == "待就业", held
            else:
                rec = self.model.records[want[1]]
                assert held["status"] == "employed", (held, want)
                if rec.kind == "destination":
                    assert held["destination"]["code"] == DESTINATION["type_code"], held
                else:
                    assert held["destination"]["code"] == "10", held
                    assert held["destination"]["job_category"] == want[2], (held, want)

    @invariant()
    def at_most_one_active_record_per_graduate(self):
        if not hasattr(self, "model"):
            return
        rows = self.harness.run(self.harness.app.db.fetchall(
            "SELECT graduate_id, COUNT(*) AS n FROM records WHERE school_id=%s AND active_graduate_id IS NOT NULL"
            " GROUP BY graduate_id", (self.s["id"],)))
        assert all(r["n"] == 1 for r in rows), rows


@pytest.fixture(scope="module")
def harness(config):
    h = Harness(config)
    yield h
    h.close()


@pytest.mark.parametrize("mode", MODES, ids=["-".join(m) for m in MODES])
def test_flows_match_the_model(harness, mode):
    machine = type(f"Flows_{mode[0]}_{mode[1]}", (FlowMachine,), {"harness": harness, "mode": mode})
    test = machine.TestCase
    test.settings = settings(test.settings, deadline=None, suppress_health_check=list(HealthCheck))
    test("runTest").runTest()
