"""Accounts: password hashing (argon2id), lockout after repeated failures, loading the acting user."""
from __future__ import annotations

import asyncio
import json
import re
import secrets

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from signing.actors import Actor
from signing.errors import DomainError
from signing.personal import id_number_problem, is_valid_phone, normalize_id_number

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
SESSION_SECONDS = 24 * 3600  # a session lives a day at most, and ends at once on logout or password change
MAX_FAILURES_PER_ADDRESS = 50  # one address trying many accounts (password spraying) is slowed down too
_hasher = PasswordHasher()  # argon2id with the library's maintained defaults
# A real hash of a random password, checked when the account does not exist so timing does not tell.
_DUMMY_HASH = _hasher.hash("no-such-account-placeholder")


def check_password_strength(password: str) -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise DomainError("weak_password")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
    return await asyncio.get_running_loop().run_in_executor(None, verify)


async def find_login(db, vault, identifier: str) -> dict | None:
    """Username for staff and employers; graduates may also use their ID number or phone."""
    ident = identifier.strip()
    if not id_number_problem(ident):
        return await db.fetchone(
            "SELECT u.* FROM users u JOIN graduates g ON g.id=u.graduate_id WHERE g.id_hash=%s"
            " ORDER BY g.cohort DESC LIMIT 1", (vault.blind_index(normalize_id_number(ident)),))
    if is_valid_phone(ident):
        return await db.fetchone("SELECT * FROM users WHERE phone_hash=%s", (vault.blind_index(ident),))
    return await db.fetchone("SELECT * FROM users WHERE username=%s", (ident,))


def _take_attempt(pipe, key: str) -> None:
    """Counts one attempt in a fixed 15-minute window that starts with the first one (INCR keeps the TTL)."""
    pipe.set(key, 0, ex=LOCKOUT_SECONDS, nx=True).incr(key)


async def authenticate(db, redis, vault, identifier: str, password: str, ip: str | None = None) -> dict:
    """The user row, or DomainError.

    Attempts are counted per account, whichever identifier named it (username, ID number or phone), or per
    identifier when no account has it, and per client address. Each attempt takes its place with an atomic
    Redis INCR *before* the slow password check, so parallel attempts cannot all pass the check: only the first
    five of a window are checked, the fifth failure locks the account for the rest of its 15 minutes, and a
    success clears the account's count. 50 attempts from one address in 15 minutes refuse that address."""
    user = await find_login(db, vault, identifier)
    key = (f"login:failures:account:{user['id']}" if user
           else "login:failures:" + vault.blind_index(identifier.strip().upper()))
    ip_key = "login:address:" + vault.blind_index(ip) if ip else None
    async with redis.pipeline(transaction=True) as pipe:
        _take_attempt(pipe, key)
        if ip_key:
            _take_attempt(pipe, ip_key)
        counts = await pipe.execute()
    attempt, address_attempts = counts[1], counts[3] if ip_key else 0
    if attempt > MAX_FAILURES:
        raise DomainError("account_locked")
    if address_attempts > MAX_FAILURES_PER_ADDRESS:
        await redis.decr(key)  # not checked: it does not count against the account
        raise DomainError("rate_limited", "登录失败次数过多，请15分钟后再试")
    ok = await verify_password(user["password_hash"] if user else None, password)
    if not ok:
        if attempt >= MAX_FAILURES:
            raise DomainError("account_locked")
        raise DomainError("login_failed", f"账号或密码错误，再失败{MAX_FAILURES - attempt}次账号将锁定15分钟")
    if not user["is_active"]:
        raise DomainError("account_disabled")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if ip_key:
            pipe.decr(ip_key)  # a success is not a failure of the address
        await pipe.execute()
    return user


async def open_session(redis, user_id: int) -> str:
    """A new server-side session: a random id in Redis naming the account, listed per account for revocation."""
    sid = secrets.token_urlsafe(24)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(f"session:{sid}", user_id, ex=SESSION_SECONDS)
        pipe.sadd(f"sessions:user:{user_id}", sid).expire(f"sessions:user:{user_id}", SESSION_SECONDS)
        await pipe.execute()
    return sid


async def close_session(redis, sid: str, user_id: int) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(f"session:{sid}").srem(f"sessions:user:{user_id}", sid)
        await pipe.execute()


async def close_all_sessions(redis, user_id: int) -> None:
    """Ends every session of the account (password change, an administrator's action)."""
    sids = await redis.smembers(f"sessions:user:{user_id}")
    async with redis.pipeline(transaction=True) as pipe:
        for sid in sids:
            pipe.delete(f"session:{sid}")
        pipe.delete(f"sessions:user:{user_id}")
        await pipe.execute()


async def revoke_sessions(db, redis, username: str) -> bool:
    """An operator's action: every session of the account ends now, on every device (False: no such account)."""
    user = await db.fetchone("SELECT id FROM users WHERE username=%s", (username,))
    if user is None:
        return False
    async with db.transaction() as cur:
        await cur.execute("UPDATE users SET session_version=session_version+1 WHERE id=%s", (user["id"],))
    await forget_actors(db, redis, [user["id"]])
    await close_all_sessions(redis, user["id"])
    return True


_ACTOR_SQL = (
    "SELECT u.id, u.role, u.display_name, u.province_code, u.school_id, u.department, u.employer_id,"
    " u.graduate_id, u.level_scope, u.is_active, u.session_version, s.province_code AS school_province,"
    " (SELECT JSON_OBJECTAGG(p.module, p.level) FROM user_permissions p WHERE p.user_id=u.id) AS permissions"
    " FROM users u LEFT JOIN schools s ON s.id=u.school_id WHERE u.id=%s")


async def _account_snapshot(db, user_id: int) -> dict | None:
    """What a request needs to know of an account, from MySQL in one query (None: no such account)."""
    user = await db.fetchone(_ACTOR_SQL, (user_id,))
    if user is None:
        return None
    permissions = json.loads(user["permissions"]) if user["role"] in ("school", "department") and user["permissions"] \
        else {}
    return {"active": bool(user["is_active"]), "version": user["session_version"], "actor": {
        "user_id": user["id"], "role": user["role"], "name": user["display_name"],
        "province_code": user["province_code"] or user["school_province"], "school_id": user["school_id"],
        "department": user["department"], "employer_id": user["employer_id"], "graduate_id": user["graduate_id"],
        "permissions": permissions, "level_scope": user["level_scope"]}}


def _actor_of(snapshot: dict | None, session_version: int, ip: str | None) -> Actor | None:
    """The one rule: an account that exists, is active and has not ended its sessions since the cookie."""
    if snapshot is None or not snapshot["active"] or snapshot["version"] != session_version:
        return None
    return Actor(**snapshot["actor"], ip=ip)


async def load_actor(db, user_id: int, session_version: int, ip: str | None = None) -> Actor | None:
    """The caller of a request, with the permissions of a school or department account, in one query."""
    return _actor_of(await _account_snapshot(db, user_id), session_version, ip)


# The account snapshot of load_actor is cached in Redis for the requests of a session. Keys name the database:
# several databases may share one Redis (tests, benches).
# A generation lives on twice a snapshot's time after its last change: it cannot fall back to none (0) while a
# snapshot stored under 0 by a request that read the row before that change is still there.
ACTOR_GENERATION_SECONDS = 2 * SESSION_SECONDS


def actor_key(database: str, user_id: int | str) -> str:
    return f"actor:{database}:{user_id}"


async def session_actor(db, redis, sid: str, user_id: int, session_version: int, ip: str | None) -> Actor | None:
    """The caller of a request whose signed cookie names session `sid` of the account, or None.

    One Redis round trip when warm, no SQL: MGET of the session (open, and of this account: revocation is as
    strict as without a cache), the account's cached snapshot and its generation. The snapshot is used only
    when stored under the current generation; else it is read from MySQL and stored under the generation read
    *before* the query. forget_actors moves the generation on after a change commits, so a request that read
    the old row and stores it late stores it under a generation no request takes."""
    key = actor_key(db.params["db"], user_id)
    session, cached, generation = await redis.mget(f"session:{sid}", key, key + ":gen")
    if session != str(user_id):
        return None
    generation = int(generation or 0)
    snapshot = orjson.loads(cached) if cached else None
    if snapshot is None or snapshot.pop("generation") != generation:
        snapshot = await _account_snapshot(db, user_id)
        if snapshot is not None:
            await redis.set(key, orjson.dumps({**snapshot, "generation": generation}), ex=SESSION_SECONDS)
    return _actor_of(snapshot, session_version, ip)


async def forget_actors(db, redis, user_ids) -> None:
    """Call after the commit of every change to what load_actor reads (a users row's role, names, scope,
    is_active or session_version; user_permissions; a school's province): the next request of these accounts
    reads MySQL again."""
    async with redis.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            key = actor_key(db.params["db"], user_id)
            pipe.incr(key + ":gen").expire(key + ":gen", ACTOR_GENERATION_SECONDS).delete(key)
        await pipe.execute()
