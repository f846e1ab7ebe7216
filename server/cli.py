"""Every command of `python -m server`, listed here and only here; each parses its arguments and delegates
to the feature that does the work. `--help` and argument mistakes never touch anything."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from server.config import ConfigError, Settings


def cmd_migrate(config: Settings, args) -> int:
    from server.migrate import apply_migrations
    applied = apply_migrations(config)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (database up to date)'}")
    return 0


def cmd_serve(config: Settings, args) -> int:
    from server.runtime import serve
    asyncio.run(serve(config))
    return 0


def cmd_worker(config: Settings, args) -> int:
    from server.runtime import work
    asyncio.run(work(config))
    return 0


def cmd_demo(config: Settings, args) -> int:
    from demo.data import load_demo
    asyncio.run(load_demo(config))
    return 0


def cmd_import_roster(config: Settings, args) -> int:
    from server.runtime import import_roster_file
    return asyncio.run(import_roster_file(config, args.file))


def cmd_revoke_sessions(config: Settings, args) -> int:
    from server.runtime import revoke_sessions
    return asyncio.run(revoke_sessions(config, args.username))


def cmd_transitions(config: Settings, args) -> int:
    from signing.diagram import flows_markdown, table_lines
    if args.markdown:
        sys.stdout.write(flows_markdown())
    else:
        print("\n".join(table_lines()))
    return 0


def cmd_check_image(config: Settings, args) -> int:
    from documents.images import MAX_BYTES, check_image
    from signing.errors import DomainError, kind_and_message

    refused = 0
    for path in args.files:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)  # enough to know it is too large
        except OSError as exc:
            print(f"{path}: file_unreadable 无法读取该文件（{exc.strerror}）")
            refused += 1
            continue
        try:
            checked = check_image(args.kind, data)
        except DomainError as exc:
            print(f"{path}: {exc.code} {kind_and_message(exc.code, exc.message)[1]}")
            refused += 1
            continue
        print(f"{path}: accepted ({checked.width}x{checked.height}, {len(checked.content)} bytes)")
    return 1 if refused else 0


def cmd_wechat_menu(config: Settings, args) -> int:
    from wechat.client import WeChatError
    from wechat.menu import build_menu, publish_menu

    print(json.dumps(build_menu(config.public_base_url), ensure_ascii=False, indent=2))
    if args.dry_run:
        return 0
    try:
        result = asyncio.run(publish_menu(config))
    except WeChatError as exc:
        print(f"menu refused by WeChat: errcode {exc.errcode} {exc.errmsg}")
        return 1
    print(f"menu published: {json.dumps(result, ensure_ascii=False)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from documents.images import KINDS as IMAGE_KINDS

    parser = argparse.ArgumentParser(prog="python -m server", description="毕业去向登记与网上签约平台")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=fn)
        return sub

    add("serve", cmd_serve, "run the HTTP server (in demo mode also the background jobs and the emulators)")
    add("worker", cmd_worker, "run the background jobs (outbox delivery, EMS sync, expiry)")
    add("migrate", cmd_migrate, "create the database if missing and apply migrations/*.sql")
    add("demo", cmd_demo, "load demo data (idempotent) and print the logins to try")
    add("import-roster", cmd_import_roster, "import an EMS roster file (CSV or XLSX)").add_argument("file")
    add("revoke-sessions", cmd_revoke_sessions, "end every session of an account now (a stolen or shared"
        " login)").add_argument("username")
    add("transitions", cmd_transitions, "print the transition table").add_argument(
        "--markdown", action="store_true", help="print the Mermaid diagrams of every flow instead")
    check = add("check-image", cmd_check_image, "check photos as uploads of a kind (exit 1 if any is refused)")
    check.add_argument("kind", choices=IMAGE_KINDS)
    check.add_argument("files", nargs="+", metavar="FILE")
    add("wechat-menu", cmd_wechat_menu, "publish the official-account menu defined in wechat/menu.py").add_argument(
        "--dry-run", action="store_true", help="only print the menu")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return args.run(config, args)
