"""python -m notify.worker: the notification job alone, in a loop. `python -m server worker` runs it with
the other jobs; this one is for scaling delivery out (each worker claims its own rows) and for the crash
test, which kills it (SIGKILL) mid-batch."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from notify.delivery import Notifier
from server.app import Application
from server.config import Settings

log = logging.getLogger("wangqian.notify")


async def main(batch: int, concurrency: int, interval: float) -> None:
    app = Application(Settings.from_env())
    await app.start()
    notifier = Notifier(app, batch=batch, concurrency=concurrency)
    stop = asyncio.Event()  # SIGTERM/SIGINT: finish the current run (a few seconds at most), then leave
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            try:
                await notifier.run_once()
            except Exception:
                log.exception("notification run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m notify.worker")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    from server.logs import setup_logging
    setup_logging(Settings.from_env())  # LOG_LEVEL and LOG_FORMAT like `python -m server worker`
    asyncio.run(main(args.batch, args.concurrency, args.interval))
