"""How the dashboard ends when its worker, not the user, decides it, and with which exit code.

gunicorn's master (run.py's process) forks the one worker that holds the model and runs the
workload servers. Two things end the dashboard from there:

- A launched command that exits before it ever listens: there is nothing to watch, so run.py
  exits with the command's code, as `ddtrace-run` does. The worker writes the code to a pipe made
  before the fork and asks the master for gunicorn's graceful stop (SIGTERM).
- The worker's own death, unasked (kill -9, the OOM killer): gunicorn would fork a new worker, a
  new and empty dashboard whose services would start the user's command again, under new pids,
  while the old tree's orphan guard is still ending it. The master stops instead, saying why.
"""

from __future__ import annotations

import os
import signal

from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer
from gunicorn.workers.base import Worker

WORKER_DIED = 1  # run.py's exit code when its worker died unasked


class Ending:
    """Made in the master before the fork; `end` is called in the worker, `code` in the master."""

    def __init__(self) -> None:
        self.master = os.getpid()
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        self._worker: Worker | None = None  # the one forked (gunicorn sets its pid after the fork)

    def end(self, code: int) -> None:
        """Stop the dashboard (from its worker); run.py exits with `code` (0..255)."""
        os.write(self._write, bytes([code & 0xFF]))
        os.kill(self.master, signal.SIGTERM)

    def code(self) -> int | None:
        """The exit code the worker asked for, if it did; None in any other process (a worker
        unwinds through the same `run` as the master when it exits)."""
        if os.getpid() != self.master:
            return None
        try:
            data = os.read(self._read, 1)
        except BlockingIOError:
            return None
        return data[0] if data else None

    def pre_fork(self, server: Arbiter, worker: Worker) -> None:
        """gunicorn's pre_fork hook: the first worker is forked; a second would be an empty
        dashboard (see the module's docstring), so the master halts instead."""
        if self._worker is not None:
            print(
                f"threadpulse: the dashboard's worker (pid {self._worker.pid}) died, and what it saw with it;"
                " Threadpulse stops rather than start an empty one that would start your servers"
                " again: run run.py again",
                flush=True,
            )
            raise HaltServer(None, WORKER_DIED)
        self._worker = worker
