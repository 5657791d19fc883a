"""`python -m dashboard.orphan_guard --parent PID --grace S -- ARGV...`: run ARGV, and end its whole
tree when asked to or when the dashboard dies, however either happens.

The guard stays between the dashboard and the server as a small watchdog:

- it gets SIGTERM from Linux when the dashboard dies (PR_SET_PDEATHSIG, even on kill -9);
- it is a child subreaper (PR_SET_CHILD_SUBREAPER), so every process of the tree whose parent
  dies (a gunicorn worker's /cpu-pool processes, a worker that setsid()s) is reparented to it,
  not to init: it can still find, signal and reap them all;
- on SIGTERM, SIGINT or SIGHUP it SIGTERMs (and SIGCONTs) every descendant, waits `grace`
  seconds, then SIGKILLs whatever is left: a server that handles SIGTERM on an event loop its own
  CPU work stalls (Hypercorn), or that waits 60 s for a worker (uWSGI's mercy), ends on time;
- when the server exits on its own, the rest of its tree is killed at once and the guard exits
  the way the server did (its code, or its signal), so the dashboard reads the server's fate;
- a guard that outlives its dashboard removes the dead dashboard's log folder on its way out
  (the dashboard may be killed before it can, e.g. by its own gunicorn master's graceful timeout).

A per-server cgroup would also catch every descendant, but needs root or a delegated cgroup, and
a speaker's run.py runs as a user; a subreaper needs no privilege. Only SIGKILL of the guard itself
escapes it: the server then gets SIGKILL (its own death signal) and its workers exit when they
see their master gone, as gunicorn's do.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time

import psutil

from dashboard import logfolders

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
WATCHED = STOP_SIGNALS | {signal.SIGCHLD}
REAP_TIMEOUT_S = 5.0  # after SIGKILL: how long to wait for the kernel to finish them off
TICK_S = 0.5  # wake now and then even if a SIGCHLD was merged with another


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent", type=int, required=True, help="pid of the dashboard process")
    parser.add_argument("--grace", type=float, required=True, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    libc = ctypes.CDLL(None, use_errno=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)  # taken by sigtimedwait, never by surprise
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != args.parent:  # the dashboard died before prctl took effect
        sys.exit(1)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    child = _start(command, libc)
    _forget_stdin()
    status = _watch(child, args.grace)
    if os.getppid() != args.parent:
        logfolders.remove_stale()
    _exit_like(status)


def _start(command: list[str], libc: ctypes.CDLL) -> int:
    """Fork and exec the server: signals unblocked, and SIGKILLed should the guard itself die."""
    guard = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, ())
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() == guard:
                os.execvp(command[0], command)
            os._exit(1)
        except BaseException as exc:
            print(f"orphan_guard: cannot run {command[0]!r}: {exc}", file=sys.stderr, flush=True)
            os._exit(127)
    return pid


def _forget_stdin() -> None:
    """Let the server alone hold its stdin: a command pipe must break when the server dies."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def _watch(child: int, grace: float) -> int:
    """Reap until the server exits (then kill what is left at once) or a stop signal comes (then
    SIGTERM, grace, SIGKILL); returns the server's wait status once no descendant is left."""
    status = None
    while status is None:
        info = signal.sigtimedwait(WATCHED, TICK_S)
        status = _reap().get(child)
        if status is None and info is not None and info.si_signo in STOP_SIGNALS:
            status = _stop(child, grace)
    _kill_all(signal.SIGKILL)
    _drain(time.monotonic() + REAP_TIMEOUT_S)
    return status


def _stop(child: int, grace: float) -> int | None:
    """SIGTERM the tree and give it `grace` seconds; the server's status if it exited by then."""
    _kill_all(signal.SIGTERM)
    _kill_all(signal.SIGCONT)  # a stopped process only acts on its SIGTERM once continued
    deadline = time.monotonic() + grace
    status = None
    while _descendants() and (left := deadline - time.monotonic()) > 0:
        signal.sigtimedwait({signal.SIGCHLD}, min(left, TICK_S))
        status = _reap().get(child, status)
    if status is None:
        _kill_all(signal.SIGKILL)
        status = _wait_for(child, time.monotonic() + REAP_TIMEOUT_S)
    return status if status is not None else 0


def _wait_for(child: int, deadline: float) -> int | None:
    status = None
    while status is None and time.monotonic() < deadline:
        signal.sigtimedwait({signal.SIGCHLD}, TICK_S)
        status = _reap().get(child)
    return status


def _descendants() -> list[psutil.Process]:
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def _kill_all(sig: int) -> None:
    """Send `sig` to every descendant, again until none is new (one may fork meanwhile)."""
    done: set[int] = set()
    while todo := [p for p in _descendants() if p.pid not in done]:
        for proc in todo:
            done.add(proc.pid)
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass


def _reap() -> dict[int, int]:
    """Collect every child that has exited (orphans reparented here too): pid -> wait status."""
    out = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return out
        if pid == 0:
            return out
        out[pid] = status


def _drain(deadline: float) -> None:
    """Reap until no child is left (or the deadline passes: a process stuck in the kernel)."""
    while _descendants() and time.monotonic() < deadline:
        signal.sigtimedwait({signal.SIGCHLD}, TICK_S)
        _reap()
    _reap()


def _exit_like(status: int) -> None:
    """Exit with the server's exit code, or die of the signal it died of."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig != signal.SIGKILL:
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


if __name__ == "__main__":
    main()
