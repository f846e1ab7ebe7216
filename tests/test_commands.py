"""The command line: migrate twice changes nothing, demo twice is harmless, import-roster reports."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from demo.sample_data import roster_csv, roster_row
from server.migrate import apply_migrations

ROOT = Path(__file__).resolve().parent.parent


def run(config, *args):
    env = dict(os.environ, DATABASE_URL=config.database_url, REDIS_URL=config.redis_url, APP_ENV="test",
               UPLOAD_DIR=config.upload_dir)
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
