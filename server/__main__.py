"""python -m server <command>: serve, migrate, worker, demo, import-roster, and the commands features add."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from server.config import ConfigError, Settings

# `python -m server` runs this file as __main__; feature modules import server.__main__ to register their
# commands, so both names must be this one module.
sys.modules.setdefault("server.__main__", sys.modules[__name__])
COMMANDS = {}


def command(name: str, help_text: str):
    def decorate(fn):
        COMMANDS[name] = (fn, help_text)
        return fn
    return decorate


@command("migrate", "create the database if missing and apply migrations/*.sql")
def cmd_migrate(config: Settings, args) -> int:
    from server.migrate import apply_migrations
    applied = apply_migrations(config)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (database up to date)'}")
    return 0


@command("serve", "run the HTTP server (in demo mode also the background jobs and the emulators)")
def cmd_serve(config: Settings, args) -> int:
    from server.runtime import serve
    asyncio.run(serve(config))
    return 0


@command("worker", "run the background jobs (outbox delivery, EMS sync, expiry)")
def cmd_worker(config: Settings, args) -> int:
    from server.runtime import work
    asyncio.run(work(config))
    return 0


@command("demo", "load demo data (idempotent) and print the logins to try")
def cmd_demo(config: Settings, args) -> int:
    from server.demo import load_demo
    asyncio.run(load_demo(config))
    return 0


@command("import-roster", "import an EMS roster file (CSV or XLSX): import-roster FILE")
def cmd_import_roster(config: Settings, args) -> int:
    from server.runtime import import_roster_file
    if len(args.rest) != 1:
        print("usage: python -m server import-roster FILE", file=sys.stderr)
        return 2
    return asyncio.run(import_roster_file(config, args.rest[0]))


def main(argv: list[str] | None = None) -> int:
    _load_feature_commands()
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS), help="; ".join(
        f"{n}: {h}" for n, (_, h) in sorted(COMMANDS.items())))
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command][0](config, args)


def _load_feature_commands() -> None:
    """Feature packages register their own commands with @command when imported."""
    import importlib
    for module in ("signing.commands", "wechat.commands", "documents.commands"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


if __name__ == "__main__":
    sys.exit(main())
