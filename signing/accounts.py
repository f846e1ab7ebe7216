"""Accounts: password hashing (argon2id), lockout after repeated failures, loading the acting user."""
from __future__ import annotations

import asyncio
import json
import re
import secrets

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


async def session_is_open(redis, sid: str, user_id: int) -> bool:
    return await redis.get(f"session:{sid}") == str(user_id)


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
    await close_all_sessions(redis, user["id"])
    return True


async def load_actor(db, user_id: int, session_version: int, ip: str | None = None) -> Actor | None:
    """The caller of a request, with the permissions of a school or department account, in one query."""
    user = await db.fetchone(
        "SELECT u.id, u.role, u.display_name, u.province_code, u.school_id, u.department, u.employer_id,"
        " u.graduate_id, u.level_scope, u.is_active, u.session_version, s.province_code AS school_province,"
        " (SELECT JSON_OBJECTAGG(p.module, p.level) FROM user_permissions p WHERE p.user_id=u.id) AS permissions"
        " FROM users u LEFT JOIN schools s ON s.id=u.school_id WHERE u.id=%s", (user_id,))
    if user is None or not user["is_active"] or user["session_version"] != session_version:
        return None
    permissions = json.loads(user["permissions"]) if user["role"] in ("school", "department") and user["permissions"] \
        else {}
    return Actor(
        user_id=user["id"], role=user["role"], name=user["display_name"],
        province_code=user["province_code"] or user["school_province"], school_id=user["school_id"],
        department=user["department"], employer_id=user["employer_id"], graduate_id=user["graduate_id"],
        permissions=permissions, level_scope=user["level_scope"], ip=ip,
    )
