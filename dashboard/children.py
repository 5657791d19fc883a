"""Child processes that never outlive the dashboard.

Each child starts in its own session (so its whole tree can be signalled at once) through
`python -m dashboard.orphan_guard`, which asks Linux to SIGTERM it if the dashboard dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import psutil

PROJECT_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class Spawner:
    """Starts every child from one long-lived thread.

    Linux sends the orphan guard's signal when the *thread* that forked a child exits, so the
    forking thread must live as long as the dashboard; a request's thread may not.
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="threadpulse-spawner")

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` (which may spawn children) on the spawner thread and return its result."""
        return self._thread.submit(fn).result()

    def spawn(
        self, argv: list[str], env: dict[str, str], log_path: Path, stdin_pipe: bool = False
    ) -> subprocess.Popen:
        """Start argv as a guarded child in its own process group, output to log_path."""
        return self.call(lambda: _spawn(argv, env, log_path, stdin_pipe))

    def close(self) -> None:
        self._thread.shutdown(wait=False)


def _spawn(argv: list[str], env: dict[str, str], log_path: Path, stdin_pipe: bool) -> subprocess.Popen:
    full_env = {**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)}
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dashboard.orphan_guard", *argv],
            env=full_env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def tree_pids(proc: subprocess.Popen | int) -> list[int]:
    """The child (or the process with that pid) and all its descendants that are still alive."""
    try:
        root = psutil.Process(proc if isinstance(proc, int) else proc.pid)
        return [root.pid, *(c.pid for c in root.children(recursive=True))]
    except psutil.Error:
        return []


def terminate_tree(proc: subprocess.Popen, timeout: float = 5.0) -> list[int]:
    """SIGTERM the child's whole tree, SIGKILL what is left after `timeout`; returns its pids."""
    pids = tree_pids(proc)
    alive = _existing(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _signal(proc.pid, alive, sig)
        _, alive = psutil.wait_procs(alive, timeout=timeout)
        if not alive:
            break
    proc.poll()
    return pids


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of a child's process group after the child itself died: a gunicorn
    master killed with -9 leaves its workers running, orphans serving nobody."""
    _signal(proc.pid, [], signal.SIGKILL)


def _signal(group: int, procs: list[psutil.Process], sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for p in procs:  # also any that left the group
        try:
            p.send_signal(sig)
        except psutil.Error:
            pass


def _existing(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            pass
    return out
