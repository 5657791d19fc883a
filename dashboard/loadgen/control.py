"""The dashboard's side of the load generator: checks a burst, starts its process, reaps it."""

from __future__ import annotations

import itertools
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from dashboard.children import Spawner, terminate_tree
from dashboard.collector.store import Store
from dashboard.loadgen.limits import MAX_ACTIVE_RUNS, MAX_RUNS_PER_MINUTE, BadLoadRequest, Burst, parse_burst
from dashboard.servers.mode import python_module


class LoadControl:
    """Fires bursts at the managed server only (never at a URL a viewer names)."""

    def __init__(
        self, store: Store, spawner: Spawner, collector_url: str, target: Callable[[], str | None]
    ) -> None:
        self.store = store
        self.spawner = spawner
        self.collector_url = collector_url
        self.target = target
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen] = {}
        self._started: deque[float] = deque(maxlen=MAX_RUNS_PER_MINUTE)  # monotonic start times
        self._logdir = Path(tempfile.mkdtemp(prefix="threadpulse-load-"))

    def fire(self, body: object) -> str:
        """Start a burst; returns its run id. BadLoadRequest when it cannot be fired."""
        burst = parse_burst(body)
        url = self.target()
        if url is None:
            raise BadLoadRequest("no workload server is serving: start one first")
        with self._lock:
            self._reap_locked()
            if len(self._procs) >= MAX_ACTIVE_RUNS:
                raise BadLoadRequest(f"{MAX_ACTIVE_RUNS} bursts are already running; wait for one to finish")
            now = time.monotonic()
            if len(self._started) == MAX_RUNS_PER_MINUTE and now - self._started[0] < 60:
                raise BadLoadRequest(
                    f"at most {MAX_RUNS_PER_MINUTE} bursts a minute; "
                    f"try again in {60 - (now - self._started[0]):.0f} s"
                )
            self._started.append(now)
            run = f"r{next(self._ids)}"
            self.store.use(lambda model: model.add_run(run, burst.endpoint, burst.count, burst.ms))
            self._procs[run] = self._spawn(run, url, burst)
        return run

    def _spawn(self, run: str, url: str, burst: Burst) -> subprocess.Popen:
        argv = python_module(
            "dashboard.loadgen.burst",
            "--url", url,
            "--collector", self.collector_url,
            "--run", run,
            "--endpoint", burst.endpoint,
            "--count", str(burst.count),
            "--ms", str(burst.ms),
        )  # fmt: skip
        return self.spawner.spawn(argv, {}, self._logdir / f"{run}.log")

    def reap(self) -> None:
        """End the runs whose process has exited without saying so (called periodically)."""
        with self._lock:
            self._reap_locked()

    def _reap_locked(self) -> None:
        for run, proc in list(self._procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self._procs[run]
            self._end_run(run, _exit_reason(code))

    def stop_all(self, reason: str = "stopped") -> list[str]:
        """Stop every running burst (the presenter, a server switch or the dashboard exiting cuts
        them short); returns the ids of the runs stopped."""
        with self._lock:
            procs, self._procs = self._procs, {}
        for run, proc in procs.items():
            terminate_tree(proc, timeout=2)
            self._end_run(run, reason)
        return list(procs)

    def _end_run(self, run: str, reason: str) -> None:
        now = time.monotonic_ns()
        self.store.use(lambda model: model.end_run(run, now, reason))


def _exit_reason(code: int) -> str:
    """Why a run ended, from its load generator's exit code ("" when it went to plan)."""
    if code == 0:
        return ""
    if code < 0:
        return f"the load generator was killed (signal {-code})"
    return f"the load generator exited with code {code}"
