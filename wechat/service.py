"""Per-application WeChat state: one WeChatApi and the background work started after answering WeChat."""
from __future__ import annotations

import asyncio
import logging

from wechat.client import WeChatApi

log = logging.getLogger("wangqian.wechat")


class WeChatService:
    def __init__(self, app):
        self.api = WeChatApi(app.config, app.redis)
        self._tasks: set[asyncio.Task] = set()  # strong references: the loop keeps only weak ones

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("WeChat background work failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Waits for the background work started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def wechat_of(app) -> WeChatService:
    service = getattr(app, "wechat", None)
    if service is None:
        service = app.wechat = WeChatService(app)
    return service
