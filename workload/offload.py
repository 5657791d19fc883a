"""`/cpu-pool`: CPU work handed to a pool of processes, so it runs beside the server, not in it.

Each server process makes its own pool on first use, with one process per core, started by
"spawn" (a fresh interpreter: forking a threaded or monkey-patched server is unsafe). The pool's
processes report to the dashboard like workers do, so the page draws them with their CPU.

A pool process exits as soon as the server process that made it dies, even mid-task: otherwise it
waits on its call queue for ever (it holds both ends of the queue's pipe), and so does the
resource tracker that serves it. PR_SET_PDEATHSIG cannot say this: it fires when the *thread*
that started the process exits, and under the threaded dev server that is the request's thread.
A pidfd of the parent, watched from a thread, fires when the whole process is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
from concurrent.futures import ProcessPoolExecutor

from threadpulse_agent import ENV_COLLECTOR, ENV_MODE, phases
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source, parse_collector
from threadpulse_agent.tasks import TaskRegistry, os_threading
from workload import work

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
                initializer=_start_pool_process,
                initargs=(os.getpid(),),
            )
        return _pool


def burn_in_pool(ms: int) -> int:
    """Run `work.burn_python(ms)` in a pool process; the request's own task only waits."""
    phases.mark("io")
    return pool().submit(work.burn_python, ms).result()


def _start_pool_process(parent: int) -> None:
    """In a pool process: die with `parent`, and report to the dashboard."""
    _die_with(parent)
    _report_this_process()


def _die_with(parent: int) -> None:
    """Exit this process the moment `parent` is gone (a watching OS thread, also under gevent)."""
    try:
        pidfd = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    if os.getppid() != parent:  # it died before the pidfd was open, and the pid was reused
        os._exit(1)

    def watch() -> None:
        select.select([pidfd], [], [])  # readable once the process has exited
        os._exit(1)

    os_threading().Thread(target=watch, name="threadpulse-die-with-parent", daemon=True).start()


def _report_this_process() -> None:
    """Announce the pool process's one task, so the dashboard samples its CPU."""
    url = os.environ.get(ENV_COLLECTOR)
    if not url:
        return
    threading.current_thread().name = POOL_TASK_NAME
    registry = TaskRegistry()
    registry.current()
    mode = f"{os.environ.get(ENV_MODE, 'unknown')}/{POOL_TASK_NAME}"
    Reporter(parse_collector(url), local_source(mode, "worker"), Recorder(), registry).start()
