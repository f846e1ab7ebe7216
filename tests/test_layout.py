"""The folders say what runs in production: emulators/ and demo/ stand beside it, never under it; the domain
never reaches up into the HTTP layer or the command line; one file lists every command; the README's layout
section names every folder."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ["server", "handlers", "signing", "documents", "notify", "wechat", "sms", "ems", "credit"]
DOMAIN = ["signing", "documents", "notify", "ems", "credit", "sms"]
STAND_INS = ("emulators", "demo")
# The only production places that may reach a stand-in, lazily and only in demo mode or for the demo command.
LAZY_STAND_IN_IMPORTS = {("server/runtime.py", "emulators.launcher"), ("server/cli.py", "demo.data")}


def modules(packages: list[str]):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def imports(tree: ast.Module):
    """(imported module, whether the import sits at module level) for every import statement."""
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, id(node) in top


def test_production_code_imports_no_stand_in_except_lazily_in_demo_mode():
    found = []
    for path, tree in modules(PRODUCTION):
        for name, at_top in imports(tree):
            if name.split(".")[0] in STAND_INS and (at_top or (path, name) not in LAZY_STAND_IN_IMPORTS):
                found.append(f"{path}: {name}")
    assert found == []


def test_production_start_up_never_loads_emulators_or_demo():
    probe = (
        "import importlib, pkgutil, sys\n"
        f"for package in {PRODUCTION!r}:\n"
        "    root = importlib.import_module(package)\n"
        "    for info in pkgutil.walk_packages(root.__path__, package + '.'):\n"
        "        if info.name != 'server.__main__':\n"
        "            importlib.import_module(info.name)\n"
        "from server.app import collect_routes\n"
        "collect_routes('production')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('emulators', 'demo')))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_demo_mode_adds_the_demo_pages():
    from server.app import collect_routes
    assert "/demo/phones" in {r[0] for r in collect_routes("demo")}
    assert "/demo/phones" not in {r[0] for r in collect_routes("production")}


def test_domain_never_imports_the_http_layer_or_the_command_line():
    found = [f"{path}: {name}" for path, tree in modules(DOMAIN) for name, _ in imports(tree)
             if name.split(".")[0] == "handlers" or name in ("server.__main__", "server.cli")]
    assert found == []


def test_one_file_lists_every_command_and_the_readme_documents_each():
    from server.cli import build_parser
    parser = build_parser()
    commands = set(next(a for a in parser._actions if a.dest == "command").choices)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands"):].split("\n## ", 1)[0]
    assert set(re.findall(r"^\| `([a-z-]+)[ `]", table, re.M)) == commands
    defined_elsewhere = [f"{path}" for path, tree in modules(PRODUCTION) if path != "server/cli.py"
                         for node in ast.walk(tree) if isinstance(node, ast.Call)
                         and getattr(node.func, "attr", None) == "add_parser"]
    assert defined_elsewhere == []


def test_every_error_code_is_defined_once_on_the_domain_side():
    from handlers.errors import STATUS
    from signing.errors import CATALOG, Kind
    assert set(STATUS) == set(Kind)
    assert all(isinstance(kind, Kind) for kind, _ in CATALOG.values())


def test_readme_layout_names_every_folder():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    folders = {p.split("/")[0] for p in tracked if "/" in p and not p.startswith(".")}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):].split("\n## ", 1)[0]
    listed = set(re.findall(r"^([a-z_]+)/", layout, re.M))
    assert listed == folders
