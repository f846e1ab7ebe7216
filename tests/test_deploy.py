"""deploy/: the systemd units parse cleanly (systemd-analyze verify) and the nginx example passes `nginx -t`;
the body limit nginx enforces matches the app's. (deploy/rehearse.sh runs the whole layout.)"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from documents.images import MAX_BYTES
from handlers.roster import MAX_ROSTER_BYTES

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_verify_without_a_warning(tmp_path):
    names = []
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/opt/wangqian", str(ROOT))  # where this checkout's venv is
        name = unit.name.replace("@.", "@1." if "worker" in unit.name else "@8101.")
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True,
                         cwd=tmp_path)
    problems = [line for line in out.stderr.splitlines() if str(tmp_path) in line or "wangqian" in line]
    assert out.returncode == 0 and not problems, out.stderr


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_example_passes_nginx_t(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t",
                    "-keyout", tmp_path / "k", "-out", tmp_path / "c"], check=True, capture_output=True)
    site = (DEPLOY / "nginx" / "wangqian.conf").read_text()
    site = site.replace("/etc/nginx/tls/jy.example.edu.cn.crt", str(tmp_path / "c")).replace(
        "/etc/nginx/tls/jy.example.edu.cn.key", str(tmp_path / "k")).replace("/var/log/nginx/", f"{tmp_path}/")
    site = site.replace("listen 80;", "listen 127.0.0.1:1;").replace("listen 443", "listen 127.0.0.1:2")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/pid; error_log {tmp_path}/error.log; events {{}}\n"
                                         f"http {{ include {tmp_path}/site.conf; }}\n")
    out = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "test is successful" in out.stderr, out.stderr


def test_nginx_body_limits_match_the_apps():
    site = (DEPLOY / "nginx" / "wangqian.conf").read_text()
    limits = [int(m) * 1024 * 1024 for m in re.findall(r"client_max_body_size (\d+)m;", site)]
    assert limits[0] > MAX_BYTES and limits[0] - MAX_BYTES <= 1024 * 1024  # a photo plus its multipart framing
    assert limits[1] > MAX_ROSTER_BYTES and limits[1] - MAX_ROSTER_BYTES <= 1024 * 1024


def test_the_units_use_the_commands_and_settings_that_exist():
    from server.cli import build_parser
    from server.config import Settings
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for command in re.findall(r"-m server ([a-z-]+)", unit.read_text()):
            assert command in commands, (unit.name, command)
    variables = {f.upper() for f in Settings.__dataclass_fields__}
    for line in (DEPLOY / "wangqian.env.example").read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name = line.split("=", 1)[0]
            assert name in variables or name == "PROMETHEUS_MULTIPROC_DIR", name


def test_the_lock_file_pins_every_dependency_of_pyproject():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    pinned = dict(line.split("==", 1) for line in (ROOT / "requirements.lock").read_text().splitlines()
                  if "==" in line and not line.startswith((" ", "#")))
    norm = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pinned.items()}
    for requirement in wanted:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group()).lower()
        assert name in norm, f"{name} is in pyproject.toml but not in requirements.lock (run pip-compile)"
    assert 'ruff==' + norm["ruff"] in " ".join(wanted)  # the pin of pyproject and the lock agree
