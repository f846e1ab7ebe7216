"""Each test run gets its own MariaDB database (created, migrated, dropped) and its own Redis db number.
The app runs for real on a local port (pytest-tornado's http_server); tests talk to it over HTTP."""
from __future__ import annotations

import os
import sys
import uuid

import pymysql
import pytest
import redis as syncredis
from hypothesis import settings

from server.config import Settings
from server.migrate import apply_migrations, drop_database
from tests.support import Client, World, running_app

RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"

# The model-based test of the flows (tests/test_flow_model.py): a quick default run in the suite, and
# `--hypothesis-profile=long` for at least 2,000 steps (its count is printed at the end).
settings.register_profile("default", max_examples=3, stateful_step_count=50)
settings.register_profile("long", max_examples=25, stateful_step_count=40)
settings.load_profile("default")


def pytest_terminal_summary(terminalreporter):
    model = sys.modules.get("tests.test_flow_model")
    if model is not None and model.STEPS["steps"]:
        terminalreporter.write_line(f"flow model: {model.STEPS['steps']} steps, {model.STEPS['changes']} of them"
                                    f" state changes the service made, {model.STEPS['refusals']} refusals it gave")


def _run_settings(**overrides) -> Settings:
    base = os.environ.get("DATABASE_URL", "mysql://root:@127.0.0.1:3306/wangqian")
    # Redis: TEST_REDIS_DB of the server in REDIS_URL; else the database REDIS_URL names, when it is set; else
    # 1 + pid % 15 of the local server. The run empties that database first and uses no other.
    redis_url = os.environ.get("REDIS_URL")
    redis_base = (redis_url or "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    redis_db = os.environ.get("TEST_REDIS_DB") or (
        Settings(redis_url=redis_url).redis_db if redis_url else 1 + os.getpid() % 15)
    return Settings.from_env(
        app_env="test",
        database_url=base.rsplit("/", 1)[0] + f"/wangqian_test_{RUN_ID}",
        redis_url=f"{redis_base}/{redis_db}",
        **overrides,
    )


@pytest.fixture(scope="session")
def config(tmp_path_factory):
    settings = _run_settings(upload_dir=str(tmp_path_factory.mktemp("uploads")),
                             upload_spool_dir=str(tmp_path_factory.mktemp("spool")))
    apply_migrations(settings)
    syncredis.from_url(settings.redis_url).flushdb()
    yield settings
    drop_database(settings)


@pytest.fixture
def app(config, io_loop):
    yield from running_app(config, io_loop)


@pytest.fixture(autouse=True)
def fresh_login_counters(config):
    """Every test starts with no failed logins counted for its client address (all tests share 127.0.0.1)."""
    r = syncredis.from_url(config.redis_url)
    for key in r.scan_iter("login:address:*"):
        r.delete(key)


@pytest.fixture
def world(app):
    return World(app)


@pytest.fixture
def client(http_client, base_url):
    return lambda: Client(http_client, base_url)


@pytest.fixture
def sql(config):
    """A plain PyMySQL connection for given/then checks straight in the database."""
    conn = pymysql.connect(**{k: v for k, v in config.database.items() if k != "db"}, database=config.database["db"],
                           autocommit=True, cursorclass=pymysql.cursors.DictCursor, charset="utf8mb4",
                           init_command="SET time_zone='+08:00'")

    def run(query, args=None):
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    yield run
    conn.close()
