from __future__ import annotations

import pytest

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
