"""The process pools of the CPU-heavy document work (photo checks, photo reading)."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

# Nice 10 for the pools' processes: on a machine with few cores a photo check takes a whole core for tens of
# milliseconds, and the server's requests should not wait behind it (bench_uploads: /api/me's p99 during four
# uploads 3.2x idle at nice 0, 1.9-2.6x at 10). Not 19: on a saturated machine the checks must still progress
# (at 10 they keep about a tenth of a core a busy process would otherwise take).
BACKGROUND_NICENESS = 10


def _lower_priority() -> None:
    os.nice(BACKGROUND_NICENESS)


def background_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned processes (clean: no copy of the server's threads, loop or connections) at a lower CPU priority."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_lower_priority)
