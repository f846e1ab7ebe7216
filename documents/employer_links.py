"""The employer's SMS link (用人单位协助回传, SPEC 4.3 step 2): the graduate asks the platform to text the unit's
contact a link; through it the unit downloads the agreement and uploads the stamped copy, without an account.

A link is a random token (only its keyed hash is stored), valid LINK_DAYS days, for one record and one upload;
a newer link for the record supersedes the older ones, and every link dies when the record leaves the step
that waits for the stamped copy. The SMS itself leaves through the outbox (topic 'notify', template
'employer_link'), written in the transaction that creates the link."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import documents.errors  # noqa: F401  (registers the error codes)
from documents import recognition
from documents.storage import FileStore
from documents.uploads import accept_upload, discard_upload
from server.logs import current_request_id
from signing import clock, rules
from signing.actors import Actor
from signing.errors import DomainError
from signing.oplog import record_operation
from signing.personal import mask_name, mask_phone
from signing.records_service import ActionInput, decode, load_context, perform

LINK_DAYS = 7
LINK_STATES = ("agreement_approved", "signing_returned")  # the steps that wait for the stamped copy
# Each link is an SMS the platform pays for and the unit receives: (limit, window seconds, message).
PER_RECORD = (3, 3600, "同一份协议每小时最多发送3次短信链接，请稍后再试")
PER_GRADUATE = (10, 86400, "每天最多发送10次短信链接，请明天再试")
ACTOR_SUFFIX = "（短信链接）"
AGREEMENT_PAGES = 2  # the agreement PDF's pages: one photo each; the unit's seal is on the signature page
# A page photographed without the seal gets the checks of an agreement page (size, light, focus) but the seal's:
# the seal is checked over the set. (documents/images.py checks no seal on this kind.)
UNSEALED_PAGE_CHECKS = "cancellation-letter"


def token_hash(vault, token: str) -> str:
    return vault.blind_index("employer_link:" + token)


async def _take(redis, key: str, limit: int, seconds: int, message: str) -> None:
    """A fixed window counter: refuse the (limit+1)-th use within the window."""
    async with redis.pipeline(transaction=True) as pipe:
        count, _ = await pipe.incr(key).expire(key, seconds, nx=True).execute()
    if count > limit:
        raise DomainError("employer_link_rate_limited", message, {"retry_after_seconds": await redis.ttl(key)})


async def request_link(db, redis, vault, actor: Actor, record_id: int, now: datetime | None = None) -> dict:
    """Create a link for the graduate's offline record and queue its SMS; returns {id, phone_masked, expires_at}."""
    now = (now or clock.now()).replace(microsecond=0)
    async with db.transaction() as cur:
        await cur.execute("SELECT id, kind, graduate_id, school_id, department, level, employer_id, state, audit_stage,"
                          " audit_touched, deadline, agreement_number, data FROM records WHERE id=%s FOR UPDATE",
                          (record_id,))
        record = await cur.fetchone()
        if record is None or not rules.can_see(actor, record):
            raise DomainError("not_found")
        record = decode(record)
        if record["kind"] != "offline" or record["state"] not in LINK_STATES:
            raise DomainError("employer_link_not_allowed")
        ctx = await load_context(cur, record["graduate_id"], now, actor)
        # The unit acts for the graduate: the graduate must be allowed to upload the stamped copy now.
        rules.check(rules.transition_for(actor, record, "upload_stamped"), actor, record, ctx)
        mobile = record["data"].get("contact_mobile")
        if not mobile:
            raise DomainError("employer_link_not_allowed", "协议中没有单位联系人手机号，无法发送短信")
        await _take(redis, f"employer_link:record:{record_id}", *PER_RECORD)
        await _take(redis, f"employer_link:graduate:{record['graduate_id']}", *PER_GRADUATE)

        await cur.execute("UPDATE employer_links SET superseded_at=%s WHERE record_id=%s AND superseded_at IS NULL",
                          (now, record_id))
        # 24 random bytes make 32 characters: the SMS variable holding the link path takes at most 35
        token, expires_at = secrets.token_urlsafe(24), now + timedelta(days=LINK_DAYS)
        await cur.execute("INSERT INTO employer_links (record_id, token_hash, phone_masked, created_at, expires_at)"
                          " VALUES (%s,%s,%s,%s,%s)", (record_id, token_hash(vault, token), mask_phone(mobile), now,
                                                      expires_at))
        link_id = cur.lastrowid
        unit_name = record["data"].get("unit_name")
        await _notify(cur, f"employer_link:{link_id}", record, {
            "template": "employer_link", "record_id": record_id, "event_id": None,
            "graduate_id": record["graduate_id"], "link": f"/e/{token}", "unit_name": unit_name,
            "phone_field": "contact_mobile", "sms_only": True, "expires_at": expires_at})
        g = ctx.graduate
        await record_operation(cur, actor, "record.employer_link", "record", record_id,
                               f"{g['name'][0]}*（{g['id_masked']}）请用人单位协助回传协议书，短信发送至{mask_phone(mobile)}",
                               school_id=g["school_id"], province_code=ctx.settings["province_code"])
    return {"id": link_id, "phone_masked": mask_phone(mobile), "expires_at": expires_at}


async def _notify(cur, key: str, record: dict, payload: dict) -> None:
    await cur.execute(
        "INSERT INTO outbox (topic, idempotency_key, graduate_id, record_id, event_id, payload, request_id)"
        " VALUES ('notify',%s,%s,%s,%s,%s,%s)",
        (key, record["graduate_id"], payload["record_id"], payload["event_id"],
         json.dumps(payload, ensure_ascii=False, default=str), current_request_id()))


async def resolve_link(db, vault, token: str, now: datetime | None = None) -> dict:
    """The live link of this token with what its page shows; the DomainError that explains why it is dead."""
    now = now or clock.now()
    if not token or len(token) > 100:
        raise DomainError("employer_link_invalid")
    link = await db.fetchone(
        "SELECT l.id, l.record_id, l.expires_at, l.superseded_at, l.used_at, r.kind, r.state, r.graduate_id,"
        " r.agreement_number, r.data, g.name AS graduate_name, s.name AS school_name FROM employer_links l"
        " JOIN records r ON r.id=l.record_id JOIN graduates g ON g.id=r.graduate_id JOIN schools s ON s.id=r.school_id"
        " WHERE l.token_hash=%s", (token_hash(vault, token),))
    if link is None:
        raise DomainError("employer_link_invalid")
    if link["superseded_at"] is not None:
        raise DomainError("employer_link_superseded")
    if link["used_at"] is not None:
        raise DomainError("employer_link_used")
    if link["expires_at"] <= now:
        raise DomainError("employer_link_expired")
    if link["state"] not in LINK_STATES:
        raise DomainError("employer_link_closed")
    data = decode(link)["data"] or {}
    link.update(token=token, unit_name=data.get("unit_name") or "", graduate_name=mask_name(link.pop("graduate_name")))
    return link


async def upload_through_link(db, store: FileStore, link: dict, photos: list[bytes | Path],
                              ip: str | None = None) -> list[dict]:
    """The unit's stamped copy, one photo per page (at most AGREEMENT_PAGES): each photo checked on its own
    (type, size, light, focus; read and compared with this agreement), the red seal over the set (the seal is on
    one page, the signature page: a seal on at least one photo). All are stored as the graduate's uploads
    (uploaded_by NULL), then the upload_stamped action moves the record to the signing audit; the link is used up
    and the graduate told. A refusal keeps nothing."""
    if not photos:
        raise DomainError("upload_file_missing")
    if len(photos) > AGREEMENT_PAGES:
        raise DomainError("upload_too_many_photos")
    facts = await recognition.agreement_facts(db, link["record_id"])

    async def accept(content: bytes | Path, check_as: str | None = None) -> dict:
        return await accept_upload(db, store, "stamped-agreement", content, graduate_id=link["graduate_id"],
                                   uploaded_by=None, facts=facts, shown_name=link["graduate_name"],
                                   check_as=check_as)

    uploads, sealed = [], False
    try:
        for content in photos:
            try:
                uploads.append(await accept(content))
                sealed = True
            except DomainError as exc:
                if exc.code != "image_no_seal":
                    raise
                uploads.append(await accept(content, UNSEALED_PAGE_CHECKS))  # unsealed page: the set decides
        if not sealed:
            raise DomainError("image_no_seal_on_any_page")
        actor = Actor(user_id=None, role="employer_link", ip=ip,
                      name=link["unit_name"][:100 - len(ACTOR_SUFFIX)] + ACTOR_SUFFIX)

        async def use_up_link(cur, _record_id):  # in the same transaction as the move to the signing audit
            await cur.execute("UPDATE employer_links SET used_at=NOW() WHERE id=%s", (link["id"],))

        # the table's employer_link row writes the graduate's notice (employer_uploaded) with the change
        await perform(db, actor, link["record_id"], "upload_stamped",
                      ActionInput(upload_ids=[u["id"] for u in uploads], also=use_up_link))
    except BaseException:
        for upload in uploads:  # refused (a page, the set, or a parallel upload won): nothing is left
            await discard_upload(db, store, upload["id"])
        raise
    return uploads
