"""Domain errors: an exception with a machine-readable code. handlers/errors.py maps codes to HTTP."""
from __future__ import annotations


class DomainError(Exception):
    def __init__(self, code: str, message: str | None = None, details: list | dict | None = None):
        super().__init__(code)
        self.code = code
        self.message = message  # a specific Chinese message; the code's default otherwise
        self.details = details
