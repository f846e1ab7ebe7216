"""Stored files (checked uploads, generated PDFs) under Settings.upload_dir, which is never served directly.

Names are ours, never the user's: 32 random hex digits in two levels of folders plus a known suffix,
e.g. "3f/a2/3fa2c1...e9.jpg". Writes are atomic (temporary file, fsync, rename), so a reader sees the
whole file or nothing, and a failed upload never replaces a good one (each save is a new name).
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from pathlib import Path

SUFFIXES = ("jpg", "pdf")
NAME = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{28}\.(?:jpg|pdf)")


class FileStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def save(self, content: bytes, suffix: str) -> str:
        """Store content under a new random name and return the name."""
        suffix = suffix.lstrip(".")
        if suffix not in SUFFIXES:
            raise ValueError(f"suffix must be one of {SUFFIXES}")
        key = uuid.uuid4().hex
        name = f"{key[:2]}/{key[2:4]}/{key}.{suffix}"
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return name

    def read(self, name: str) -> bytes:
        """The stored bytes; FileNotFoundError when there is no such file."""
        return self.path(name).read_bytes()

    open = read  # the same, under the name callers may look for

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def path(self, name: str) -> Path:
        """The file's path; ValueError for any name we could not have made (no traversal, no absolute paths)."""
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError("invalid stored file name")
        return self.root / name

