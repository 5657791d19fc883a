"""`/cpu-pool`: CPU work handed to a pool of processes, so it runs beside the server, not in it.

Each server process makes its own pool on first use, with one process per core, started by
"spawn" (a fresh interpreter: forking a threaded or monkey-patched server is unsafe). The pool's
processes report to the dashboard like workers do, so the page draws them with their CPU.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from workload import work
from workload.agent import ENV_COLLECTOR, ENV_MODE, phases
from workload.agent.recorder import Recorder
from workload.agent.reporter import Reporter, local_source, parse_collector
from workload.agent.tasks import TaskRegistry

POOL_TASK_NAME = "cpu-pool"
_pool: ProcessPoolExecutor | None = None
_made = threading.Lock()


def pool() -> ProcessPoolExecutor:
    """This process's pool, made on first use."""
    global _pool
    with _made:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=os.cpu_count() or 2,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_report_this_process,
            )
        return _pool


def burn_in_pool(ms: int) -> int:
    """Run `work.burn_python(ms)` in a pool process; the request's own task only waits."""
    phases.mark("io")
    return pool().submit(work.burn_python, ms).result()


def _report_this_process() -> None:
    """In a pool process: announce its one task, so the dashboard samples its CPU."""
    url = os.environ.get(ENV_COLLECTOR)
    if not url:
        return
    threading.current_thread().name = POOL_TASK_NAME
    registry = TaskRegistry()
    registry.current()
    mode = f"{os.environ.get(ENV_MODE, 'unknown')}/{POOL_TASK_NAME}"
    Reporter(parse_collector(url), local_source(mode, "worker"), Recorder(), registry).start()
