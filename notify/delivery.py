"""Notification delivery. A job reads the outbox entries of topic 'notify' (the lease pattern of
server/outbox) and expands each, in one transaction with marking it done, into deliveries: one per
channel, unique per record:event:channel. Then the due deliveries are claimed with a lease, marked
"attempt started" together (one commit), sent (WeChat template message, or SMS), and marked with its outcome.

Exactly once: a crash before the outcome is written leaves the delivery pending; its lease expires and it
is sent again, and a crash after the provider accepted the message does not make it twice: every WeChat
try carries the delivery's key as client_msg_id (WeChat sends one message per openid + id within 10
minutes), and an SMS in doubt is looked up by its OutId with QuerySendDetails before it is sent again.
See README."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from notify.channels import sms_of, wechat_api_of
from notify.templates import NOTIFICATIONS, SMS_ONLY, employer_link_sms, sms_message, wechat_message
from server.logs import request_id_var
from server.outbox import LEASE_SECONDS, backoff_seconds, claim_due, mark_done, mark_retry
from signing.personal import mask_phone
from sms.client import redact
from sms.templates import TemplateParamError
from wechat.binding import mask_openid
from wechat.client import WeChatError

log = logging.getLogger("wangqian.notify")
CHINA = timezone(timedelta(hours=8))
MAX_ATTEMPTS = 12  # retryable failures with backoff (capped at 10 minutes): about an hour, then failed
IN_DOUBT = "上次发送中断，结果未知，已重新发送"  # WeChat: the same client_msg_id, so WeChat sends it once
SMS_CONFIRMED = "上次发送中断，经查询已发出，未重新发送"
SMS_UNKNOWN = "上次发送中断，暂时无法查询是否已发出，稍后再查"
COLUMNS = ("outbox_id", "graduate_id", "record_id", "event_id", "template", "channel", "idempotency_key",
           "status", "last_error", "content", "message", "request_id")
FLUSH_SECONDS = 0.02  # outcomes are written together at most this long after the provider answered
# The outcomes of many deliveries in one statement: each row is updated only while it still holds the lease
# of the attempt the outcome is of (another worker may have taken it over after the lease expired).
FINISHED_ROW = "SELECT %s AS id, %s AS token, %s AS status, %s AS error, %s AS provider_id, %s AS recipient, %s AS delay"
FINISH = ("UPDATE deliveries d JOIN ({rows}) o ON d.id=o.id AND d.lease_token=o.token"
          " SET d.status=o.status, d.last_error=o.error, d.provider_id=COALESCE(o.provider_id, d.provider_id),"
          " d.recipient_masked=COALESCE(o.recipient, d.recipient_masked), d.sent_at=IF(o.status='sent', NOW(3), d.sent_at),"
          " d.sending_since=NULL, d.lease_token=NULL, d.next_attempt_at=NOW(3) + INTERVAL o.delay MICROSECOND")
FINISH_CHUNK = 500  # outcomes a statement


async def write_finished(cur, outcomes: list[tuple]) -> None:
    """Outcomes (id, lease token, status, error, provider id, masked recipient, microseconds to the next attempt),
    a statement for up to FINISH_CHUNK of them: one round trip where an UPDATE each took one per delivery."""
    for i in range(0, len(outcomes), FINISH_CHUNK):
        chunk = outcomes[i:i + FINISH_CHUNK]
        await cur.execute(FINISH.format(rows=" UNION ALL ".join([FINISHED_ROW] * len(chunk))),
                          [value for outcome in chunk for value in outcome])


@dataclass
class Outcome:
    status: str  # sent | pending (retry later) | failed | skipped
    error: str | None = None
    provider_id: str | None = None
    delay: float = 0.0  # seconds until the next attempt (pending)


class InTransaction:
    """Lets server.outbox.mark_done write through the cursor of an open transaction."""

    def __init__(self, cur):
        self.cur = cur

    @asynccontextmanager
    async def cursor(self):
        yield self.cur


def quota_wait_seconds(errcode: int | None, now: datetime | None = None) -> float:
    """WeChat quotas: the daily one (45009) resets at midnight Beijing time, the minute one after a minute."""
    now = (now or datetime.now(CHINA)).astimezone(CHINA)
    if errcode == 45009:
        return ((now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0) - now).total_seconds()
    if errcode == 45011:
        return 60.0
    return ((now + timedelta(hours=1)).replace(minute=1, second=0, microsecond=0) - now).total_seconds()


def delivery_row(entry: dict, channel: str, content: str, message: dict | None, error: str | None = None) -> dict:
    p = entry["payload"] if "payload" in entry else entry
    # one delivery per record, event and channel; an entry without an event (an agreement link) uses its own key
    base = f"{p['record_id']}:{p['event_id']}" if p.get("event_id") is not None else entry["idempotency_key"]
    return {"outbox_id": entry.get("outbox_id", entry.get("id")), "graduate_id": entry["graduate_id"],
            "record_id": p["record_id"], "event_id": p["event_id"], "template": p["template"], "channel": channel,
            "idempotency_key": f"{base}:{channel}",
            "status": "failed" if error else "pending", "last_error": error, "content": content[:1000],
            "message": json.dumps(message or {}, ensure_ascii=False), "request_id": entry.get("request_id")}


INSERT_DELIVERY = (f"INSERT INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
                   " ON DUPLICATE KEY UPDATE id=id")


class Notifier:
    def __init__(self, app, batch: int = 200, concurrency: int = 16, lease_seconds: int = LEASE_SECONDS):
        self.app, self.db, self.config, self.vault = app, app.db, app.config, app.vault
        self.batch, self.concurrency, self.lease_seconds = batch, concurrency, lease_seconds
        self.outcomes: list[tuple] = []  # finished deliveries not yet written (see finish)

    async def run_once(self, budget_seconds: float = 5.0) -> int:
        """Expand and send until nothing is due; returns the deliveries handled. Each round sends what is expanded
        while the next batch of the outbox is expanded (MariaDB and the providers work at the same time; a
        graduate's messages still go in order: a later one has later delivery ids, sent in a later round or after
        the earlier one in the same). No new round after `budget_seconds`: a graceful stop (the job runner waits
        10 s) then rarely finds a provider call in flight."""
        handled, deadline = 0, time.monotonic() + budget_seconds
        while True:
            expanding = asyncio.ensure_future(self.expand_due())
            try:
                sent = await self.send_due()
            finally:  # never left running: a cancelled expansion would roll back mid-batch
                expanded = await expanding
            handled += sent
            if not expanded and not sent or time.monotonic() >= deadline:
                return handled

    async def execute(self, sql: str, args) -> int:
        async with self.db.cursor() as cur:
            await cur.execute(sql, args)
            return cur.rowcount

    async def _gather(self, items, work) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item):
            async with gate:
                await work(item)
        await asyncio.gather(*(one(i) for i in items))

    # -- outbox -> deliveries --------------------------------------------------------------------------

    async def expand_due(self) -> int:
        """One transaction for the claimed batch: its deliveries inserted, its entries marked done."""
        entries = await claim_due(self.db, "notify", self.batch)  # the earliest due entry of each graduate
        if not entries:
            return 0
        marks = ",".join(["%s"] * len(entries))
        contexts = {c["id"]: c for c in await self.db.fetchall(
            "SELECT o.id, g.name AS graduate_name, g.department, s.name AS school_name, o.created_at AS at,"
            " JSON_EXTRACT(r.data, '$.position_title') AS position_title"
            " FROM outbox o JOIN graduates g ON g.id=o.graduate_id JOIN schools s ON s.id=g.school_id"
            f" LEFT JOIN records r ON r.id=o.record_id WHERE o.id IN ({marks})", [e["id"] for e in entries])}
        ready, rows = [], []
        for entry in entries:
            if entry["payload"].get("template") not in (*NOTIFICATIONS, *SMS_ONLY):  # a bug to fix, kept visible in the outbox
                log.error("notify outbox %s: unknown template %r", entry["id"], entry["payload"].get("template"))
                await self.execute("UPDATE outbox SET status='failed', last_error='unknown template' WHERE id=%s",
                                   (entry["id"],))
                continue
            rows += self.deliveries_for(entry, contexts[entry["id"]])
            ready.append(entry)
        try:
            async with self.db.transaction() as cur:
                # The unique key makes expansion idempotent: a second insert of the same key does nothing.
                await cur.executemany(INSERT_DELIVERY, [[r[c] for c in COLUMNS] for r in rows])
                await mark_done(InTransaction(cur), *(entry["id"] for entry in ready))
        except Exception as exc:  # nothing was written: the entries come back after a backoff
            log.exception("notify outbox entries could not be expanded")
            for entry in ready:
                await mark_retry(self.db, entry, f"{type(exc).__name__}: {exc}")
        return len(entries)

    def deliveries_for(self, entry: dict, context: dict) -> list[dict]:
        p = entry["payload"]
        if p["template"] in SMS_ONLY:
            try:
                return [delivery_row(entry, "sms", *employer_link_sms(self.config, p, context))]
            except TemplateParamError as exc:
                return [delivery_row(entry, "sms", "短信未能生成", None, str(exc))]
        context["position_title"] = json.loads(context["position_title"]) if context["position_title"] else None
        content, message = wechat_message(self.config, p, context)
        try:
            sms_content, sms = sms_message(self.config, p, context)
            message["fallback_sms"] = {"content": sms_content, "message": sms}
        except TemplateParamError as exc:  # kept visible as a failed SMS delivery
            message["fallback_sms"] = {"content": "短信未能生成", "error": str(exc)}
        rows = [delivery_row(entry, "wechat", content, message)]
        if p.get("sms"):  # every edit of a record by a school goes by SMS as well
            rows.append(self.sms_row(entry, message["fallback_sms"]))
        return rows

    @staticmethod
    def sms_row(entry: dict, sms: dict) -> dict:
        return delivery_row(entry, "sms", sms["content"], sms.get("message"), sms.get("error"))

    # -- deliveries -> WeChat and Aliyun -----------------------------------------------------------------

    async def send_due(self) -> int:
        token = secrets.token_hex(8)
        await self.execute("UPDATE deliveries SET lease_token=%s, next_attempt_at=NOW(3) + INTERVAL %s SECOND"
                           " WHERE status='pending' AND next_attempt_at<=NOW(3) ORDER BY id LIMIT %s",
                           (token, self.lease_seconds, self.batch))
        rows = await self.db.fetchall(  # with the recipient: the WeChat user if following us, the phone
            "SELECT d.id, d.outbox_id, d.graduate_id, d.record_id, d.event_id, d.template, d.channel,"
            " d.idempotency_key, d.attempts, d.sending_since, d.message, d.request_id, IF(u.wechat_subscribed=1, u.wechat_openid,"
            " NULL) AS openid, COALESCE(u.phone_cipher, g.phone_cipher) AS phone_cipher,"
            " JSON_UNQUOTE(JSON_EXTRACT(r.data, '$.contact_mobile')) AS unit_mobile FROM deliveries d"
            " JOIN graduates g ON g.id=d.graduate_id LEFT JOIN users u ON u.graduate_id=g.id"
            " LEFT JOIN records r ON r.id=d.record_id"
            " WHERE d.lease_token=%s ORDER BY d.id", (token,))
        for row in rows:
            row["message"], row["token"] = json.loads(row["message"]), token
        rows = await self.start_attempts(rows, token)
        by_graduate = defaultdict(list)  # one graduate's messages go out in order; graduates in parallel
        for row in rows:
            by_graduate[row["graduate_id"]].append(row)
        done = asyncio.Event()
        writer = asyncio.create_task(self._write_outcomes_until(done))
        try:
            await self._gather(by_graduate.values(), self._deliver_all)
        finally:
            done.set()  # never cancelled mid-write: a cancelled transaction would drop the outcomes it held
            await writer
        return len(rows)

    async def _write_outcomes_until(self, done: asyncio.Event) -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), FLUSH_SECONDS)
            await self.write_outcomes()
        await self.write_outcomes()  # those that came in during the last write

    async def write_outcomes(self) -> None:
        """The outcomes gathered since the last write, in one transaction (one commit for many deliveries). An
        outcome lost with a crash before this write is safe: the delivery still carries its 'attempt started'
        marker, so it is retried as in doubt (WeChat's client_msg_id, Aliyun's QuerySendDetails) — never twice."""
        outcomes, self.outcomes = self.outcomes, []
        if not outcomes:
            return
        try:
            async with self.db.transaction() as cur:
                await write_finished(cur, outcomes)
        except Exception:
            log.exception("%d delivery outcomes could not be written; their leases expire and they are retried",
                          len(outcomes))

    async def _deliver_all(self, rows: list[dict]) -> None:
        for row in rows:
            request_id_var.set(row["request_id"])  # this task's log lines carry the request that caused the message
            try:
                await (self.send_wechat(row) if row["channel"] == "wechat" else self.send_sms(row))
            except Exception:  # e.g. the database went away: the lease expires and the delivery is retried
                log.exception("delivery %s interrupted", row["id"])

    @staticmethod
    def stored_number(row: dict) -> str | None:
        """Where an SMS goes, as stored: the unit's contact on the record (an agreement link), else the graduate's
        encrypted phone (the account's, else the roster's); None when there is none."""
        if row["template"] in SMS_ONLY:
            return row["unit_mobile"]
        return row["phone_cipher"] or None

    def calls_provider(self, row: dict) -> bool:
        """False when the delivery ends without a call: no WeChat follower (SMS instead), no phone number."""
        if row["channel"] == "wechat":
            return row["openid"] is not None
        return self.stored_number(row) is not None

    @staticmethod
    def in_doubt_sms(row: dict) -> bool:
        """An SMS whose last attempt was interrupted: Aliyun is asked (resend_allowed) before its own marker."""
        return row["channel"] == "sms" and row["sending_since"] is not None

    async def start_attempts(self, rows: list[dict], token: str) -> list[dict]:
        """The 'attempt started' marker of a whole claim, in one statement and one commit, before any provider
        call (a commit per delivery was an eighth of the worker's time). A crash before the
        calls leaves them all in doubt, which is safe: WeChat dedups by client_msg_id, an SMS is looked up by
        its OutId first. Returns the rows still ours (a lease can only be lost if this worker stalled for
        LEASE_SECONDS)."""
        batch = [r for r in rows if self.calls_provider(r) and not self.in_doubt_sms(r)]
        for row in batch:
            if row["sending_since"] is not None:
                log.warning("delivery %s: the previous attempt was interrupted mid-call; sending again", row["id"])
        if batch:
            ids = [r["id"] for r in batch]
            marks = ",".join(["%s"] * len(ids))
            async with self.db.transaction() as cur:
                await cur.execute(
                    "UPDATE deliveries SET sending_since=NOW(3), attempts=attempts+1,"
                    f" next_attempt_at=NOW(3) + INTERVAL %s SECOND WHERE lease_token=%s AND status='pending'"
                    f" AND id IN ({marks})", (self.lease_seconds, token, *ids))
                if cur.rowcount != len(ids):
                    await cur.execute(f"SELECT id FROM deliveries WHERE lease_token=%s AND id IN ({marks})",
                                      (token, *ids))
                    lost = set(ids) - {r["id"] for r in await cur.fetchall()}
                    rows = [r for r in rows if r["id"] not in lost]
        return rows

    async def start_attempt(self, row: dict, recipient_masked: str) -> bool:
        """The marker of one in-doubt SMS that Aliyun says did not go out, written (and committed) right before
        the provider call, together with the outcomes gathered so far."""
        if row["sending_since"] is not None:
            log.warning("delivery %s: the previous attempt was interrupted mid-call; sending again", row["id"])
        outcomes, self.outcomes = self.outcomes, []
        async with self.db.transaction() as cur:
            if outcomes:
                await write_finished(cur, outcomes)
            await cur.execute(
                "UPDATE deliveries SET sending_since=NOW(3), attempts=attempts+1, recipient_masked=%s,"
                " next_attempt_at=NOW(3) + INTERVAL %s SECOND WHERE id=%s AND lease_token=%s AND status='pending'",
                (recipient_masked, self.lease_seconds, row["id"], row["token"]))
            claimed = cur.rowcount
        return claimed == 1  # 0: the lease was lost to another worker, which sends it instead

    async def finish(self, row: dict, outcome: Outcome) -> None:
        """The outcome joins those written together: by write_outcomes within FLUSH_SECONDS, or with an in-doubt
        SMS's marker (start_attempt), whichever comes first."""
        error = outcome.error or (IN_DOUBT if row["sending_since"] is not None else None)
        self.outcomes.append((row["id"], row["token"], outcome.status, redact(error)[:500] if error else None,
                              outcome.provider_id, row.get("recipient"), int(outcome.delay * 1_000_000)))

    def retry(self, row: dict, error: str, delay: float | None) -> Outcome:
        attempts = row["attempts"] + 1
        if delay is None and attempts >= MAX_ATTEMPTS:
            return Outcome("failed", f"重试{attempts}次后仍失败：{error}")
        return Outcome("pending", error, delay=backoff_seconds(attempts) if delay is None else delay)

    async def fall_back(self, row: dict, reason: str) -> None:
        """No WeChat for this graduate: the WeChat delivery is skipped and the SMS goes now instead
        (once: for a record edit the SMS delivery exists already and the insert does nothing)."""
        sms = self.sms_row(row, row["message"]["fallback_sms"])
        await self.execute(INSERT_DELIVERY, [sms[c] for c in COLUMNS])
        await self.finish(row, Outcome("skipped", reason))

    async def send_wechat(self, row: dict) -> None:
        openid = row["openid"]
        if openid is None:
            await self.fall_back(row, "未绑定微信或已取消关注公众号，改发短信")
            return
        row["recipient"] = mask_openid(openid)
        m = row["message"]
        try:
            answer = await wechat_api_of(self.app).send_template(openid, m["template_id"], m["data"], url=m["url"],
                                                                 client_msg_id=row["idempotency_key"])
        except WeChatError as exc:
            error = f"微信 {exc.errcode}: {exc.errmsg}" if exc.errcode is not None else f"微信 {exc.errmsg}"
            error = error.replace(openid, mask_openid(openid))
            log.warning("wechat delivery %s to %s failed: %s (%s)", row["id"], mask_openid(openid), error, exc.kind)
            if exc.kind == "not_subscribed":
                if exc.errcode == 43004:  # an unsubscribe we missed: later notifications go by SMS at once
                    await self.execute("UPDATE users SET wechat_subscribed=0 WHERE wechat_openid=%s", (openid,))
                await self.fall_back(row, error + "，改发短信")
            elif exc.kind == "wait":
                await self.finish(row, Outcome("pending", error, delay=quota_wait_seconds(exc.errcode)))
            elif exc.kind == "retryable":
                await self.finish(row, self.retry(row, error, None))
            else:
                await self.finish(row, Outcome("failed", error))
            return
        await self.finish(row, Outcome("sent", provider_id=str(answer.get("msgid", ""))))

    async def resend_allowed(self, row: dict, phone: str) -> bool:
        """An SMS attempt whose outcome is unknown (the worker died during the call) is sent again only when
        Aliyun's QuerySendDetails shows no message with its OutId (the idempotency key): exactly once."""
        went = await sms_of(self.app).was_sent(phone, row["idempotency_key"], row["sending_since"])
        if went is False:
            return True
        if went:
            log.warning("delivery %s: the interrupted SMS had gone out (QuerySendDetails); not sent again", row["id"])
            await self.finish(row, Outcome("sent", SMS_CONFIRMED))
            return False
        # Aliyun cannot say now: ask again later, still in doubt (sending_since kept); give up after MAX_ATTEMPTS
        attempts = row["attempts"] + 1
        await self.execute(
            "UPDATE deliveries SET attempts=attempts+1, status=IF(%s>=%s, 'failed', 'pending'), last_error=%s,"
            " lease_token=NULL, next_attempt_at=NOW(3) + INTERVAL %s SECOND WHERE id=%s AND lease_token=%s",
            (attempts, MAX_ATTEMPTS, SMS_UNKNOWN, backoff_seconds(attempts), row["id"], row["token"]))
        return False

    async def send_sms(self, row: dict) -> None:
        phone = self.stored_number(row)
        if phone is not None and row["template"] not in SMS_ONLY:
            phone = self.vault.decrypt(phone)
        if phone is None:
            await self.finish(row, Outcome("failed", "没有可用的手机号"))
            return
        row["recipient"] = mask_phone(phone)
        if self.in_doubt_sms(row) and not (await self.resend_allowed(row, phone)
                                           and await self.start_attempt(row, row["recipient"])):
            return
        m = row["message"]
        result = await sms_of(self.app).send(phone, m["template_code"], m["params"], out_id=row["idempotency_key"])
        if result.ok:
            await self.finish(row, Outcome("sent", provider_id=result.biz_id))
        elif result.retryable:
            await self.finish(row, self.retry(row, f"短信 {result.code}: {result.message}", result.retry_after))
        else:
            await self.finish(row, Outcome("failed", f"短信 {result.code}: {result.message}"))
