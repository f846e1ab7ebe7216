"""The list of background jobs (named, each with its interval)."""
from __future__ import annotations

from server.jobs import Job


def jobs_for(app) -> list[Job]:
    return []
