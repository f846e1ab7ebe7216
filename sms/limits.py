"""Per-phone limits and verification codes, kept in Redis so every process shares them.

Limits are sliding windows over a sorted set of send times, checked and recorded by one Lua script:
Redis runs it atomically, so two simultaneous requests can never both take the last slot, and a
refused request consumes nothing."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from signing.errors import DomainError
from sms.errors import RATE_LIMIT_MESSAGES

# Aliyun's default flow control for verification codes (1/minute, 5/hour, 10/day per number);
# refusing here first gives the user a clear message instead of a failed send.
CODE_SEND_WINDOWS = (("minute", 60, 1), ("hour", 3600, 5), ("day", 86400, 10))
CODE_TTL_SECONDS = 300
MAX_CODE_ATTEMPTS = 5
_PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

# KEYS[1]: sorted set of send times (ms). ARGV: now_ms, unique member, then (window_ms, limit) pairs.
# Returns {0, 0} when recorded, else {index of the refusing window (1-based), ms until it frees}.
_WINDOWS_LUA = """
local now = tonumber(ARGV[1])
local longest = 0
for i = 3, #ARGV, 2 do longest = math.max(longest, tonumber(ARGV[i])) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local refused, wait = 0, 0
for i = 3, #ARGV, 2 do
  local window, limit = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local since = '(' .. string.format('%d', now - window)
  local count = redis.call('ZCOUNT', KEYS[1], since, '+inf')
  if count >= limit then
    local entry = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
    local frees_in = tonumber(entry[2]) + window - now
    if frees_in > wait then refused, wait = (i - 1) / 2, frees_in end
  end
end
if refused > 0 then return {refused, wait} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], longest)
return {0, 0}
"""

# KEYS[1]: the code hash. ARGV: the digest the caller compared against, 1 if it matched, max attempts.
# Consumes the code on a match (only the first of concurrent matches wins) or counts a wrong attempt.
_CONSUME_LUA = """
if redis.call('HGET', KEYS[1], 'digest') ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) return 1 end
if redis.call('HINCRBY', KEYS[1], 'attempts', 1) >= tonumber(ARGV[3]) then redis.call('DEL', KEYS[1]) end
return 0
"""


def _phone_tag(phone: str) -> str:
    # Keys carry a hash of the number, not the number: Redis dumps and MONITOR stay free of phones.
    return hashlib.sha256(phone.encode()).hexdigest()[:24]


def code_limit_key(phone: str) -> str:
    return f"sms:limit:code:{_phone_tag(phone)}"


def code_key(purpose: str, phone: str) -> str:
    return f"sms:code:{purpose}:{_phone_tag(phone)}"


async def _take_slot(redis, key: str, windows, now: float | None) -> tuple[int, int]:
    now_ms = int((time.time() if now is None else now) * 1000)
    args = [now_ms, f"{now_ms}-{secrets.token_hex(6)}"]
    for _, window_seconds, limit in windows:
        args += [int(window_seconds * 1000), int(limit)]
    refused, wait_ms = await redis.eval(_WINDOWS_LUA, 1, key, *args)
    return int(refused), -(-int(wait_ms) // 1000)


async def allow(redis, key: str, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """True and counted when fewer than `limit` calls were allowed on `key` in the last window."""
    refused, _ = await _take_slot(redis, key, [("window", window_seconds, limit)], now)
    return refused == 0


async def reserve_code_slot(redis, phone: str, now: float | None = None) -> None:
    """Count one verification-code SMS to `phone`, or raise sms_rate_limited naming the window."""
    refused, wait_seconds = await _take_slot(redis, code_limit_key(phone), CODE_SEND_WINDOWS, now)
    if refused:
        window = CODE_SEND_WINDOWS[refused - 1][0]
        raise DomainError("sms_rate_limited", RATE_LIMIT_MESSAGES[window],
                          {"window": window, "retry_after": wait_seconds})


def _digest(purpose: str, phone: str, code: str) -> str:
    return hashlib.sha256(f"{purpose}:{phone}:{code}".encode()).hexdigest()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def issue_code(redis, purpose: str, phone: str, ttl: int = CODE_TTL_SECONDS) -> str:
    """A fresh 6-digit code for (purpose, phone), replacing any earlier one; only its hash is stored."""
    if not _PURPOSE_RE.match(purpose):
        raise ValueError(f"bad code purpose {purpose!r}")
    code = f"{secrets.randbelow(10**6):06d}"
    key = code_key(purpose, phone)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping={"digest": _digest(purpose, phone, code), "attempts": 0})
        pipe.expire(key, ttl)
        await pipe.execute()
    return code


async def verify_code(redis, purpose: str, phone: str, code: str) -> bool:
    """True once for the right code within its lifetime; MAX_CODE_ATTEMPTS wrong tries void it."""
    key = code_key(purpose, phone)
    stored = {_text(k): _text(v) for k, v in (await redis.hgetall(key)).items()}
    if "digest" not in stored:
        return False
    matched = hmac.compare_digest(stored["digest"], _digest(purpose, phone, str(code or "").strip()))
    consumed = await redis.eval(_CONSUME_LUA, 1, key, stored["digest"], "1" if matched else "0",
                                MAX_CODE_ATTEMPTS)
    return int(consumed) == 1
