"""Named background jobs: each a coroutine run every `interval` seconds, stopped cleanly on shutdown."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("wangqian.jobs")


@dataclass
class Job:
    name: str
    interval: float
    run: Callable[[], Awaitable[object]]


class JobRunner:
    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self.jobs]

    async def _loop(self, job: Job) -> None:
        while not self._stopping.is_set():
            try:
                await job.run()
            except Exception:  # a failing job is logged and retried on its next tick, never fatal
                log.exception("job %s failed", job.name)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=job.interval)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except TimeoutError:
                task.cancel()
