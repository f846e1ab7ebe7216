"""Every command of `python -m server`, listed here and only here; each parses its arguments and delegates
to the feature that does the work. `--help` and argument mistakes never touch anything."""
from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import sys

from server.config import ConfigError, Settings


def cmd_migrate(config: Settings, args) -> int:
    from server.migrate import apply_migrations
    applied = apply_migrations(config)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (database up to date)'}")
    return 0


def cmd_serve(config: Settings, args) -> int:
    from server.runtime import serve_processes
    if args.processes < 1:
        raise UserError("--processes must be 1 or more")
    serve_processes(config, args.processes)
    return 0


def cmd_worker(config: Settings, args) -> int:
    from server.runtime import run_loop, work
    run_loop(work(config))
    return 0


def cmd_demo(config: Settings, args) -> int:
    from demo.data import load_demo
    asyncio.run(load_demo(config))
    return 0


def cmd_import_roster(config: Settings, args) -> int:
    from server.runtime import import_roster_file
    if not os.path.isfile(args.file) or not os.access(args.file, os.R_OK):
        what = "is a directory" if os.path.isdir(args.file) else (
            "is not readable" if os.path.exists(args.file) else "does not exist")
        raise UserError(f"roster file {args.file} {what}")
    return asyncio.run(import_roster_file(config, args.file))


def cmd_backup(config: Settings, args) -> int:
    from server.backup import backup
    backup(config, args.directory)
    return 0


def cmd_restore(config: Settings, args) -> int:
    from server.backup import restore
    restore(config, args.directory)
    return 0


def cmd_rotate_data_key(config: Settings, args) -> int:
    from server.rotation import rotate_data_key
    rotate_data_key(config, batch=args.batch)
    return 0


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
    from documents.recognition import describe, load_facts, read_photo
    from signing.errors import DomainError, kind_and_message

    facts = None
    if args.record is not None:  # the only case that needs the database
        facts = asyncio.run(load_facts(config, args.record))
        if facts is None:
            print(f"record {args.record}: photo_record_invalid {kind_and_message('photo_record_invalid')[1]}")
            return 1
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
        if facts is None:
            print(f"{path}: accepted ({checked.width}x{checked.height}, {len(checked.content)} bytes)")
            continue
        verdict, lines = describe(read_photo(checked.content), facts, args.kind)
        refused += verdict != "accepted"
        print(f"{path}: {verdict} ({checked.width}x{checked.height}, {len(checked.content)} bytes)")
        for line in lines:
            print(f"  {line}")
    return 1 if refused else 0


def cmd_wechat_menu(config: Settings, args) -> int:
    from wechat.client import WeChatError
    from wechat.menu import build_menu, publish_menu

    print(json.dumps(build_menu(config.public_base_url), ensure_ascii=False, indent=2))
    if not args.publish:
        print("dry run: nothing sent to WeChat (publish with --publish)")
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

    add("serve", cmd_serve, "run the HTTP server (in demo mode also the background jobs and the emulators)").add_argument(
        "--processes", type=int, default=1, metavar="N", help="N server processes on the one port (default 1;"
        " give the number of cores)")
    add("worker", cmd_worker, "run the background jobs (outbox delivery, EMS sync, expiry)")
    add("migrate", cmd_migrate, "create the database if missing and apply migrations/*.sql")
    add("demo", cmd_demo, "load demo data (idempotent) and print the logins to try")
    add("backup", cmd_backup, "dump the database and the files of UPLOAD_DIR into a new DIRECTORY").add_argument(
        "directory")
    add("restore", cmd_restore, "load a backup DIRECTORY into the empty database of DATABASE_URL and an empty"
        " UPLOAD_DIR (DATA_KEY must be the backup's)").add_argument("directory")
    add("rotate-data-key", cmd_rotate_data_key, "re-encrypt every ID number and phone with DATA_KEY, reading them with"
        " DATA_KEY_PREVIOUS (serve and workers stopped)").add_argument(
        "--batch", type=int, default=500, help="rows per transaction (default 500)")
    add("import-roster", cmd_import_roster, "import an EMS roster file (CSV or XLSX)").add_argument("file")
    add("revoke-sessions", cmd_revoke_sessions, "end every session of an account now (a stolen or shared"
        " login)").add_argument("username")
    add("transitions", cmd_transitions, "print the transition table").add_argument(
        "--markdown", action="store_true", help="print the Mermaid diagrams of every flow instead")
    check = add("check-image", cmd_check_image, "check photos as uploads of a kind (exit 1 if any is refused)")
    check.add_argument("kind", choices=IMAGE_KINDS)
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--record", type=int, metavar="N", help="also read each photo (QR code, text) and compare it"
                       " with record N's agreement; prints what was read and matched (needs the database)")
    menu = add("wechat-menu", cmd_wechat_menu, "print the official-account menu defined in wechat/menu.py;"
               " publish it to WeChat only with --publish")
    mode = menu.add_mutually_exclusive_group()
    mode.add_argument("--publish", action="store_true", help="replace the live menu of the official account")
    mode.add_argument("--dry-run", action="store_true", help="only print the menu (the default)")
    return parser


class UserError(Exception):
    """A mistake of the person at the command line: printed as one line, exit 1."""


def one_line_error(exc: BaseException, config: Settings) -> str | None:
    """The one line for a user mistake or an unreachable dependency; None for a bug (the traceback is kept)."""
    import redis

    from server.backup import BackupError
    from server.db import OperationalError
    from server.rotation import RotationError

    if isinstance(exc, UserError | BackupError | RotationError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        emulators = " or one of the emulators' ports 8001-8004" if config.app_env == "demo" else ""
        return (f"cannot listen on {config.bind_host}:{config.port}{emulators}: the address is in use"
                " (another process serves there; set PORT or HOST)")
    if isinstance(exc, OperationalError):
        db = config.database
        return f"cannot use the database {db['db']} at {db['host']}:{db['port']} (DATABASE_URL): {exc.args[-1]}"
    if isinstance(exc, redis.exceptions.ConnectionError):
        return f"cannot reach Redis at REDIS_URL ({exc})"
    return None


def main(argv: list[str] | None = None) -> int:
    from server.logs import setup_logging

    args = build_parser().parse_args(argv)
    try:
        config = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config)
    try:
        return args.run(config, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = one_line_error(exc, config)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 1
