"""Several processes against one MariaDB and one Redis: `serve --processes 2` and two `worker` processes run
graduates' whole journeys at once (invitation → accept → the school's pass), and every WeChat message, SMS and
EMS push happens exactly once."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.testing import bind_unused_port

from tests import test_ems_sync
from tests import test_notify_support as support
from tests.flows import Flow
from tests.support import Client
from tests.test_notify_crash import wait_for, worker_env
from tests.test_notify_support import bind, wechat_received

ROOT = Path(__file__).resolve().parent.parent
start_emulator, emulator, sms_emulator, app = support.start_emulator, support.emulator, support.sms_emulator, support.app
ems = test_ems_sync.ems


def free_port() -> int:
    sock, port = bind_unused_port()
    sock.close()
    return port


def children_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.gen_test(timeout=120)
async def test_two_servers_and_two_workers_do_each_thing_exactly_once(app, world, sql, emulator, sms_emulator, ems,
                                                                       http_client):
    port = free_port()
    env = {**worker_env(app.config), "PORT": str(port), "EMS_SYNC_URL": ems.url + "/api/sync",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "server"]
    server = subprocess.Popen([*command, "serve", "--processes", "2"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers = [subprocess.Popen([*command, "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        base = f"http://127.0.0.1:{port}"

        async def up():
            try:
                return (await AsyncHTTPClient().fetch(base + "/api/session", raise_error=False)).code == 200
            except OSError:
                return False
        for _ in range(150):
            if await up():
                break
            await asyncio.sleep(0.2)
        children = children_of(server.pid)
        assert len(children) == 2  # two server processes share the one port

        f = await Flow(world, lambda: Client(http_client, base), sql).setup(graduates=4)
        await bind(sql, emulator, f.graduates[0])  # one by WeChat, three by SMS

        async def journey(g):
            G = await f.login(g["username"])
            resp = await f.invite(graduate=g)
            assert resp.status == 201, resp
            rid = resp.json["record"]["id"]
            assert (await f.act(G, rid, "accept")).status == 200
            assert (await f.act(f.S, rid, "pass")).status == 200
            return rid
        record_ids = await asyncio.gather(*(journey(g) for g in f.graduates))
        assert [f.state(r)["state"] for r in record_ids] == ["signed"] * 4

        ids = [g["id"] for g in f.graduates]
        marks = ",".join(["%s"] * len(ids))

        def settled():  # the workers have delivered everything of ours
            rows = sql(f"SELECT topic, status FROM outbox WHERE record_id IN ({marks})", record_ids)
            pending = sql(f"SELECT COUNT(*) n FROM deliveries WHERE status='pending' AND graduate_id IN ({marks})", ids)
            return rows and all(r["status"] == "done" for r in rows) and pending[0]["n"] == 0
        await wait_for(settled, 60)

        rows = sql(f"SELECT channel, graduate_id, status, provider_id, idempotency_key FROM deliveries"
                   f" WHERE graduate_id IN ({marks})", ids)
        assert {r["status"] for r in rows} <= {"sent", "skipped"}  # skipped: WeChat for a graduate not bound
        sent = [r for r in rows if r["status"] == "sent"]
        assert all(r["provider_id"] for r in sent)
        wechat = [r for r in sent if r["channel"] == "wechat"]
        sms = [r for r in sent if r["channel"] == "sms"]
        assert {r["graduate_id"] for r in wechat} == {ids[0]} and {r["graduate_id"] for r in sms} >= set(ids[1:])
        assert len(await wechat_received(emulator, f.graduates[0]["openid"])) == len(wechat)
        # the workers also deliver what earlier tests left pending; ours are known by their OutId
        ours = [m.out_id for m in sms_emulator.messages if m.out_id in {r["idempotency_key"] for r in sms}]
        assert sorted(ours) == sorted(r["idempotency_key"] for r in sms)  # each exactly once
        mine = {g["id_number"] for g in f.graduates}
        pushes = [a for a in ems.state.applied if a["id_number"] in mine]
        assert len(pushes) == 4 and ems.state.duplicates == 0
        documents = sql(f"SELECT record_id, COUNT(*) n FROM agreement_documents WHERE record_id IN ({marks})"
                        " GROUP BY record_id", record_ids)
        assert {d["record_id"]: d["n"] for d in documents} == dict.fromkeys(record_ids, 1)
    finally:
        for p in (server, *workers):
            p.send_signal(signal.SIGTERM)
        for p in (server, *workers):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    assert server.returncode == 0, server.stderr.read().decode()[-2000:]
    assert not any(os.path.exists(f"/proc/{c}") for c in children)  # SIGTERM reached every server process
