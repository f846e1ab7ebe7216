"""CLI: python -m server check-image KIND FILE... (the upload checks, on files at hand)."""
from __future__ import annotations

import sys

from server.__main__ import command

USAGE = "usage: python -m server check-image KIND FILE...   (KIND: {kinds})"


@command("check-image", "check photos as uploads of a kind: check-image KIND FILE... (exit 1 if any is refused)")
def cmd_check_image(config, args) -> int:
    from documents.images import KINDS, MAX_BYTES, check_image
    from handlers.errors import status_and_message
    from signing.errors import DomainError

    if len(args.rest) < 2 or args.rest[0] not in KINDS:
        print(USAGE.format(kinds=", ".join(KINDS)), file=sys.stderr)
        return 2
    kind, files = args.rest[0], args.rest[1:]
    refused = 0
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)  # enough to know it is too large
        except OSError as exc:
            print(f"{path}: file_unreadable 无法读取该文件（{exc.strerror}）")
            refused += 1
            continue
        try:
            checked = check_image(kind, data)
        except DomainError as exc:
            print(f"{path}: {exc.code} {status_and_message(exc.code, exc.message)[1]}")
            refused += 1
            continue
        print(f"{path}: accepted ({checked.width}x{checked.height}, {len(checked.content)} bytes)")
    return 1 if refused else 0

