"""The threads an ASGI app runs its sync views on: an ASGI server's slots, and its queue.

An event loop's tasks have no bound, but a sync view (FastAPI's `def`, Quart's plain function)
runs on a pool of threads: anyio's default limiter under Starlette (40 unless the app changes it),
else the loop's default executor (Quart's `run_sync`). A burst larger than the pool waits for a
thread inside the process, as gthread's requests wait for one (gunicorn issue #908). Read on the
event loop (anyio keeps its limiter per loop); the reporter's queue probe reads the waiting count.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def read(loop: asyncio.AbstractEventLoop) -> tuple[int | None, Callable[[], int]]:
    """(threads in the pool, or None if unbounded; a probe of the calls waiting for one). Call on
    the loop."""
    if "starlette" in sys.modules:
        from anyio import to_thread

        limiter = to_thread.current_default_thread_limiter()
        tokens = limiter.total_tokens
        size = int(tokens) if math.isfinite(tokens) else None
        return size, lambda: limiter.statistics().tasks_waiting

    def waiting() -> int:
        executor = getattr(loop, "_default_executor", None)  # made by the loop on first use
        return executor._work_queue.qsize() if executor is not None else 0

    executor = getattr(loop, "_default_executor", None) or ThreadPoolExecutor()  # starts no thread
    return int(executor._max_workers), waiting
