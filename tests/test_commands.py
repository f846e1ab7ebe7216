"""The command line: migrate twice changes nothing, demo twice is harmless, import-roster reports."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from demo.sample_data import roster_csv, roster_row
from server.migrate import apply_migrations

ROOT = Path(__file__).resolve().parent.parent


def run(config, *args, env: dict | None = None):
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url, "APP_ENV": "test",
           "UPLOAD_DIR": config.upload_dir, **(env or {})}
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_migrate_twice_changes_nothing(config):
    assert apply_migrations(config) == []
    out = run(config, "migrate")
    assert out.returncode == 0 and "none (database up to date)" in out.stdout


def test_demo_twice_is_harmless_and_prints_the_logins(config, sql):
    first = run(config, "demo")
    assert first.returncode == 0, first.stderr
    assert "school_admin" in first.stdout and "demo2026pass" in first.stdout and "/wx/oauth" in first.stdout
    counts = sql("SELECT (SELECT COUNT(*) FROM users) u, (SELECT COUNT(*) FROM graduates) g, (SELECT COUNT(*) FROM records) r")
    second = run(config, "demo")
    assert second.returncode == 0, second.stderr
    assert sql("SELECT (SELECT COUNT(*) FROM users) u, (SELECT COUNT(*) FROM graduates) g,"
               " (SELECT COUNT(*) FROM records) r") == counts


def test_import_roster_command_reports_counts_and_bad_lines(config, sql, tmp_path):
    sql("INSERT INTO provinces (code, name) VALUES ('19', '命令行省') ON DUPLICATE KEY UPDATE code=code")
    sql("INSERT INTO schools (code, name, province_code) VALUES ('88888', '命令行大学', '19')"
        " ON DUPLICATE KEY UPDATE code=code")
    rows = [roster_row(900000 + i, "88888", 2026) for i in range(3)]
    good = tmp_path / "roster.csv"
    good.write_bytes(roster_csv(rows))
    out = run(config, "import-roster", str(good))
    assert out.returncode == 0 and "added=3" in out.stdout
    rows[1]["身份证号"] = "123"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(roster_csv(rows))
    out = run(config, "import-roster", str(bad))
    assert out.returncode == 1 and "roster_file_invalid" in out.stdout and "line 3" in out.stdout
    assert rows[0]["身份证号"] not in out.stdout


def one_line(out) -> str:
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert "Traceback" not in out.stderr and len(lines) == 1, out.stdout + out.stderr
    return lines[0]


@pytest.mark.parametrize("variable,value,named", [
    ("PORT", "abc", "PORT must be a whole number"), ("PORT", "70000", "PORT must be between"),
    ("DATABASE_URL", "postgres://db/x", "DATABASE_URL must look like"), ("LOG_LEVEL", "loud", "LOG_LEVEL"),
    ("REDIS_URL", "http://127.0.0.1/0", "REDIS_URL must look like"), ("APP_ENV", "staging", "APP_ENV"),
    ("DATABASE_URL", "mysql://root:secret@127.0.0.1:port/x", "DATABASE_URL must look like"),
])
def test_bad_settings_end_in_one_line_naming_the_variable(config, variable, value, named):
    out = run(config, "serve", env={variable: value})
    assert out.returncode == 2 and named in one_line(out) and "secret" not in out.stderr


def test_unreachable_database_and_redis_end_in_one_line(config):
    out = run(config, "serve", env={"DATABASE_URL": "mysql://root:@127.0.0.1:1/wq"})
    assert out.returncode == 1 and "cannot use the database wq at 127.0.0.1:1" in one_line(out)
    out = run(config, "worker", env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert out.returncode == 1 and "cannot reach Redis" in one_line(out)


def test_port_in_use_ends_in_one_line(config):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run(config, "serve", env={"PORT": str(port)})
    assert out.returncode == 1 and f"cannot listen on 127.0.0.1:{port}: the address is in use" in one_line(out)


def test_import_roster_of_a_missing_file_or_a_directory_ends_in_one_line(config, tmp_path):
    out = run(config, "import-roster", str(tmp_path / "nope.csv"))
    assert out.returncode == 1 and one_line(out).endswith("does not exist")
    out = run(config, "import-roster", str(tmp_path))
    assert out.returncode == 1 and one_line(out).endswith("is a directory")


def test_wechat_menu_is_a_dry_run_unless_asked_to_publish(config):
    nowhere = {"WECHAT_API_BASE": "http://127.0.0.1:1/"}  # a publish would fail: nothing listens there
    for args in ((), ("--dry-run",)):
        out = run(config, "wechat-menu", *args, env=nowhere)
        assert out.returncode == 0 and "dry run: nothing sent to WeChat" in out.stdout, out.stderr
    out = run(config, "wechat-menu", "--bogus", env=nowhere)
    assert out.returncode == 2 and "unrecognized arguments: --bogus" in out.stderr and "dry run" not in out.stdout
    out = run(config, "wechat-menu", "--publish", "--dry-run")
    assert out.returncode == 2


def test_serve_and_worker_run_on_uvloop():
    import asyncio

    import uvloop

    from server.runtime import run_loop

    async def loop_type():
        return type(asyncio.get_running_loop())

    assert run_loop(loop_type()) is uvloop.Loop
