"""The list of background jobs (named, each with its interval)."""
from __future__ import annotations

from documents.agreements import AgreementDocumentJob
from ems.sync import EmsSync
from notify.delivery import Notifier
from server.jobs import Job
from server.metrics import beat, worker_name
from signing.expiry import expire_invitations


def jobs_for(app) -> list[Job]:
    ems = EmsSync(app.db, app.vault, app.config.ems_sync_url)
    name = worker_name()
    return [
        Job("heartbeat", 2, lambda: beat(app.redis, name)),  # /healthz turns 503 when no worker beats
        Job("expire-invitations", 30, lambda: expire_invitations(app.db)),
        Job("ems-sync", 2, ems.run_once),
        Job("notify", 0.25, Notifier(app).run_once),  # idle poll: lag stays well under a second
        Job("agreement-documents", 2, AgreementDocumentJob(app).run_once),
    ]
