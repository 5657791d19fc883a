"""Child processes that never outlive the dashboard.

Each child runs under its own orphan guard (`python -m dashboard.orphan_guard`, see its docstring
for the mechanism and why): a watchdog in a new session that Linux signals when the dashboard dies,
that adopts every orphan of the tree (a child subreaper), and that SIGKILLs the tree a grace period
after SIGTERM. The dashboard only ever signals the guard; the guard ends the tree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import psutil

from dashboard import logfolders
from dashboard.files import PROJECT_ROOT

# Between SIGTERM and SIGKILL: gunicorn's own graceful timeout (2 s, gunicorn_args) fits inside.
GRACE_S = 3.0
# How long a switch waits for the guard beyond its grace before SIGKILLing the group itself.
BACKSTOP_S = GRACE_S + 5.0
T = TypeVar("T")


class Spawner:
    """Starts every child from one long-lived thread, and keeps their logs in one folder.

    Linux sends the guard its death signal when the *thread* that forked it exits, so the forking
    thread must live as long as the dashboard; a request's thread may not. The log folder is
    removed by `close`, and one left by a dashboard that died is removed by the next one's start.
    `env` is what every child's environment gets beside its own (the agents' key).
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = dict(env or {})
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="threadpulse-spawner")
        logfolders.remove_stale()
        self.logdir = logfolders.make()

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` (which may spawn children) on the spawner thread and return its result."""
        return self._thread.submit(fn).result()

    def spawn(
        self,
        argv: list[str],
        env: dict[str, str],
        log_path: Path | None,
        stdin_pipe: bool = False,
        cwd: Path = PROJECT_ROOT,
    ) -> subprocess.Popen:
        """Start argv under an orphan guard in a new session, in `cwd`, output to log_path (None:
        to the dashboard's own output, as a user's launched server's goes).

        The Popen is the guard's: it exits once the whole tree is gone, the way the server did."""
        return self.call(lambda: _spawn(argv, {**self.env, **env}, log_path, stdin_pipe, cwd))

    def close(self) -> None:
        """The children are stopped (or their guards are ending them): forget their logs."""
        self._thread.shutdown(wait=False)
        logfolders.remove(self.logdir)


def _spawn(
    argv: list[str], env: dict[str, str], log_path: Path | None, stdin_pipe: bool, cwd: Path
) -> subprocess.Popen:
    # The checkout's packages, the agent's too: a server on another Python (run.py --python) has no
    # editable install of it.
    pythonpath = os.pathsep.join((str(PROJECT_ROOT), str(PROJECT_ROOT / "agent")))
    full_env = {**os.environ, **env, "PYTHONPATH": pythonpath}
    # -P: a user's folder (cwd) never shadows the guard's own modules
    guard = [sys.executable, "-P", "-m", "dashboard.orphan_guard", "--parent", str(os.getpid())]
    with open(log_path or os.devnull, "wb") as log:
        return subprocess.Popen(
            [*guard, "--grace", str(GRACE_S), "--", *argv],
            env=full_env,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=log if log_path else None,
            stderr=subprocess.STDOUT if log_path else None,
            start_new_session=True,
        )


def tree_pids(proc: subprocess.Popen | int) -> list[int]:
    """The child (or the process with that pid) and all its descendants that are still alive.

    Walks /proc/PID/task/TID/children from the root: the manager asks every 0.25 s, and the tree
    is a few processes, where psutil's `children()` reads the stat of every process on the
    machine (measured here, guard + gunicorn 2 workers among 130 processes: 4-53 ms a call
    against 0.15 ms).
    """
    root = proc if isinstance(proc, int) else proc.pid
    if not os.path.exists(f"/proc/{root}"):
        return []
    pids, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        pids.append(pid)
        todo += _children_of(pid)
    return pids


def _children_of(pid: int) -> list[int]:
    """The children of every thread of `pid` (a thread that forked is their parent in Linux)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out += [int(child) for child in f.read().split()]
        except OSError:
            continue
    return out


def none_dead(pids: list[int]) -> bool:
    """Whether each of `pids` still runs: a SIGKILLed server is a zombie, still in its parent's
    children, until it is reaped, and its connections are already reset."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return False
        except (OSError, IndexError):
            return False
    return True


def guarded_pids(proc: subprocess.Popen) -> list[int]:
    """The pids of what a guard runs (the server first), without the guard itself."""
    return tree_pids(proc)[1:]


def terminate_tree(proc: subprocess.Popen, timeout: float = BACKSTOP_S) -> list[int]:
    """Have the guard end its tree and wait for it; SIGKILL the group if it has not after
    `timeout` (a guard that cannot act). Returns the tree's pids."""
    pids = tree_pids(proc)
    if not _ask_guard(proc, timeout):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for p in _existing(pids):  # also any that left the group
            try:
                p.kill()
            except psutil.Error:
                pass
        proc.wait()
    return pids


def release_tree(proc: subprocess.Popen, timeout: float) -> list[int]:
    """Have the guard end its tree, waiting at most `timeout`: the dashboard is exiting, and the
    guard finishes the job (its grace period included) on its own; a thread collects its exit
    (a guard left unwaited was a zombie, and its Popen warned when collected). Returns the tree's
    pids."""
    pids = tree_pids(proc)
    if not _ask_guard(proc, timeout):
        threading.Thread(target=proc.wait, name=f"reap guard {proc.pid}", daemon=True).start()
    return pids


def _ask_guard(proc: subprocess.Popen, timeout: float) -> bool:
    """SIGTERM the guard; whether it (and so its whole tree) exited within `timeout`."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _existing(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            pass
    return out
