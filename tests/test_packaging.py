"""The built wheel is the product: installed into a fresh virtual environment, it migrates a database and
loads the demo data from another directory, with every package, template and migration inside it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)


def test_a_built_wheel_installed_in_a_fresh_venv_runs_migrate_and_demo_from_another_directory(config, tmp_path):
    source = tmp_path / "source"  # only what git tracks: a file the checkout has but git lacks is not shipped
    for name in run("git", "ls-files", cwd=ROOT).stdout.split():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", source,
                "-w", tmp_path / "dist")
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("wangqian-*.whl")

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    installed = run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site, wheel)
    assert installed.returncode == 0, installed.stderr
    # the dependencies come from this venv's site-packages (a plain path: its .pth files, among them the
    # editable install of the checkout, are not read from there)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url, "APP_ENV": "test",
        "UPLOAD_DIR": str(tmp_path / "uploads")}
    where = run(python, "-c", "import server, templates, migrations; print(server.__file__)", cwd=elsewhere, env=env)
    assert where.returncode == 0 and where.stdout.startswith(str(site)), (where.stdout, where.stderr)
    migrated = run(python, "-m", "server", "migrate", cwd=elsewhere, env=env)
    assert migrated.returncode == 0 and "database up to date" in migrated.stdout, migrated.stderr
    demo = run(python, "-m", "server", "demo", cwd=elsewhere, env=env)
    assert demo.returncode == 0 and "school_admin" in demo.stdout, demo.stderr
    assert run(venv / "bin" / "python", "-m", "server", "--help", cwd=elsewhere, env=env).returncode == 0
