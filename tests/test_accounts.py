from __future__ import annotations

import asyncio
import json

import pytest

from signing.accounts import forget_actors, revoke_sessions
from tests.support import PASSWORD


@pytest.mark.gen_test
async def test_login_with_username_sets_session(world, client):
    school = await world.school()
    username = await world.user("school", school_id=school["id"])
    c = client()
    resp = await c.login(username)
    assert resp.json["account"]["role"] == "school"
    me = await c.get("/api/me")
    assert me.status == 200 and me.json["account"]["school_id"] == school["id"]
    assert me.json["account"]["permissions"] == {"employment": "read_write"}


@pytest.mark.gen_test
async def test_graduate_logs_in_with_id_number_or_phone(world, client):
    school = await world.school()
    [g] = await world.graduates(school)
    assert (await client().login(g["id_number"])).json["account"]["graduate_id"] == g["id"]
    assert (await client().login(g["phone"])).json["account"]["graduate_id"] == g["id"]


@pytest.mark.gen_test
async def test_wrong_password_is_401_and_says_how_many_tries_remain(world, client):
    username = await world.user("ministry")
    resp = await client().post("/api/login", {"username": username, "password": "wrong-pass1"})
    assert resp.status == 401 and resp.error == "login_failed"
    assert "4次" in resp.json["error"]["message"]


@pytest.mark.gen_test
async def test_five_failures_lock_the_account_even_for_the_right_password(world, client):
    username = await world.user("ministry")
    c = client()
    for _ in range(4):
        assert (await c.post("/api/login", {"username": username, "password": "nope1234"})).status == 401
    fifth = await c.post("/api/login", {"username": username, "password": "nope1234"})
    assert fifth.status == 429 and fifth.error == "account_locked"
    right = await c.post("/api/login", {"username": username, "password": PASSWORD})
    assert right.status == 429 and right.error == "account_locked"


@pytest.mark.gen_test
async def test_unknown_account_fails_like_a_wrong_password(client):
    resp = await client().post("/api/login", {"username": "nobody-here", "password": "whatever1"})
    assert resp.status == 401 and resp.error == "login_failed"


@pytest.mark.gen_test
async def test_disabled_account_cannot_log_in(world, client, sql):
    username = await world.user("ministry")
    sql("UPDATE users SET is_active=0 WHERE username=%s", (username,))
    resp = await client().post("/api/login", {"username": username, "password": PASSWORD})
    assert resp.status == 403 and resp.error == "account_disabled"


@pytest.mark.gen_test
async def test_me_without_session_is_401(client):
    resp = await client().get("/api/me")
    assert resp.status == 401 and resp.error == "not_logged_in"


@pytest.mark.gen_test
async def test_tampered_session_cookie_is_ignored(world, client):
    c = client()
    await c.login(await world.user("ministry"))
    c.cookies["session"] = c.cookies["session"][:-3] + "abc"
    assert (await c.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_logout_ends_the_session(world, client):
    c = client()
    await c.login(await world.user("ministry"))
    assert (await c.post("/api/logout")).status == 200
    assert (await c.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_password_change_signs_out_other_sessions(world, client, sql):
    username = await world.user("ministry")
    first, second = client(), client()
    await first.login(username)
    await second.login(username)
    resp = await first.post("/api/me/password", {"old_password": PASSWORD, "new_password": "newpass2026"})
    assert resp.status == 200
    assert (await first.get("/api/me")).status == 200
    assert (await second.get("/api/me")).status == 401
    assert (await client().post("/api/login", {"username": username, "password": "newpass2026"})).status == 200
    stored = sql("SELECT password_hash FROM users WHERE username=%s", (username,))[0]["password_hash"]
    assert stored.startswith("$argon2id$")


@pytest.mark.gen_test
async def test_weak_new_password_is_refused(world, client):
    c = client()
    await c.login(await world.user("ministry"))
    resp = await c.post("/api/me/password", {"old_password": PASSWORD, "new_password": "abcdefgh"})
    assert resp.status == 400 and resp.error == "weak_password"


@pytest.mark.gen_test
async def test_one_address_failing_on_many_accounts_is_slowed_down(world, client, app):
    from signing.accounts import MAX_FAILURES_PER_ADDRESS
    await app.redis.set("login:address:" + app.vault.blind_index("127.0.0.1"), MAX_FAILURES_PER_ADDRESS, ex=60)
    try:
        resp = await client().post("/api/login", {"username": await world.user("ministry"), "password": PASSWORD})
        assert resp.status == 429 and resp.error == "rate_limited"
    finally:
        await app.redis.delete("login:address:" + app.vault.blind_index("127.0.0.1"))


# The caller's account is cached in Redis (signing/accounts.session_actor): one MGET per request when warm.

def count_queries(monkeypatch, app) -> list:
    """Every connection the app takes from its MySQL pool (every query takes one), noted from now on."""
    taken, acquire = [], app.db.pool.acquire

    def counted():
        taken.append(1)
        return acquire()
    monkeypatch.setattr(app.db.pool, "acquire", counted)
    return taken


async def logged_in(world, client, sql, role="school", **scope):
    """A fresh account, a client logged in as it (its account cached by a first request) and its id."""
    if role == "school" and "school_id" not in scope:
        scope["school_id"] = (await world.school())["id"]
    username = await world.user(role, **scope)
    c = client()
    await c.login(username)
    assert (await c.get("/api/me")).status == 200
    return c, sql("SELECT id FROM users WHERE username=%s", (username,))[0]["id"]


async def change(app, sql, user_id, *statements):
    """A change to an account as a writer makes it: committed, then the cached account forgotten."""
    for statement in statements:
        sql(statement, (user_id,))
    await forget_actors(app.db, app.redis, [user_id])


@pytest.mark.gen_test
async def test_a_warm_request_asks_mysql_nothing(world, client, sql, app, monkeypatch):
    c, _ = await logged_in(world, client, sql)
    queries = count_queries(monkeypatch, app)
    for _ in range(3):
        assert (await c.get("/api/me")).json["account"]["permissions"] == {"employment": "read_write"}
    assert queries == []


@pytest.mark.gen_test
async def test_permission_change_and_deactivation_are_seen_by_the_very_next_request(world, client, sql, app):
    c, user_id = await logged_in(world, client, sql)
    await change(app, sql, user_id, "UPDATE user_permissions SET level='read_only' WHERE user_id=%s",
                 "INSERT INTO user_permissions VALUES (%s, 'archive', 'read_write')")
    me = await c.get("/api/me")
    assert me.json["account"]["permissions"] == {"employment": "read_only", "archive": "read_write"}
    await change(app, sql, user_id, "UPDATE users SET display_name='改过的名字', level_scope='postgraduate' WHERE id=%s")
    account = (await c.get("/api/me")).json["account"]
    assert (account["name"], account["level_scope"]) == ("改过的名字", "postgraduate")
    await change(app, sql, user_id, "UPDATE users SET is_active=0 WHERE id=%s")
    assert (await c.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_a_school_moving_province_is_seen_by_the_next_request(world, client, sql, app):
    school = await world.school()
    c, user_id = await logged_in(world, client, sql, school_id=school["id"])
    province = await world.province()
    sql("UPDATE schools SET province_code=%s WHERE id=%s", (province, school["id"]))
    await forget_actors(app.db, app.redis, [user_id])
    assert (await c.get("/api/me")).json["account"]["province_code"] == province


@pytest.mark.gen_test
async def test_password_change_and_revocation_end_cached_sessions_at_once(world, client, sql, app):
    c, user_id = await logged_in(world, client, sql, role="ministry")
    other = client()
    other.cookies = dict(c.cookies)  # the same session on a second device, its account cached
    assert (await c.post("/api/me/password", {"old_password": PASSWORD, "new_password": "newpass2026"})).status == 200
    assert (await other.get("/api/me")).status == 401
    assert (await c.get("/api/me")).status == 200  # the new session of the device that changed it
    username = sql("SELECT username FROM users WHERE id=%s", (user_id,))[0]["username"]
    assert await revoke_sessions(app.db, app.redis, username)
    assert (await c.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_a_cookie_of_an_older_session_version_is_refused_from_the_cache(world, client, sql, app):
    """An open session named by a cookie of an earlier session_version (the account's sessions ended since): 401,
    decided from the cached account without asking MySQL."""
    c, user_id = await logged_in(world, client, sql, role="ministry")
    await change(app, sql, user_id, "UPDATE users SET session_version=session_version+1 WHERE id=%s")
    assert (await c.get("/api/me")).status == 401  # the cookie's session is still open in Redis
    fresh = client()
    await fresh.login(sql("SELECT username FROM users WHERE id=%s", (user_id,))[0]["username"])
    assert (await fresh.get("/api/me")).status == 200  # caches the account at its new version
    assert (await c.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_logout_ends_the_session_although_the_account_is_cached(world, client, sql):
    c, _ = await logged_in(world, client, sql, role="ministry")
    copy = dict(c.cookies)
    assert (await c.post("/api/logout")).status == 200
    replay = client()
    replay.cookies = copy
    assert (await replay.get("/api/me")).status == 401


@pytest.mark.gen_test
async def test_thirty_parallel_first_requests_of_a_fresh_session_agree(world, client, sql, app, monkeypatch):
    school = await world.school()
    username = await world.user("school", school_id=school["id"], permissions={"employment": "read_only"})
    c = client()
    await c.login(username)
    answers = await asyncio.gather(*[c.get("/api/me") for _ in range(30)])
    assert [a.status for a in answers] == [200] * 30
    assert {json.dumps(a.json, sort_keys=True) for a in answers} == {json.dumps(answers[0].json, sort_keys=True)}
    assert answers[0].json["account"]["school_id"] == school["id"]
    queries = count_queries(monkeypatch, app)
    assert (await c.get("/api/me")).status == 200 and queries == []


@pytest.mark.gen_test
async def test_an_account_read_before_a_change_and_stored_after_it_is_not_used(world, client, sql, app, monkeypatch):
    """The race a plain delete loses: a request reads the account, the change commits and is forgotten, then the
    request stores what it read. The next request must still see the change."""
    c, user_id = await logged_in(world, client, sql)
    await forget_actors(app.db, app.redis, [user_id])  # the next request reads MySQL
    read = app.db.fetchone

    async def read_then_change(query, args=None):
        row = await read(query, args)
        monkeypatch.setattr(app.db, "fetchone", read)
        await change(app, sql, user_id, "UPDATE user_permissions SET level='none' WHERE user_id=%s")
        return row
    monkeypatch.setattr(app.db, "fetchone", read_then_change)
    assert (await c.get("/api/me")).json["account"]["permissions"] == {"employment": "read_write"}
    assert (await c.get("/api/me")).json["account"]["permissions"] == {"employment": "none"}
