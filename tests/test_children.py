"""The orphan guard on real processes: what a server's tree does to escape, and what the guard does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from dashboard.children import Spawner, guarded_pids, none_dead, release_tree, terminate_tree
from tests.support import ROOT, alive, wait_for

# A server that ignores SIGTERM and starts a grandchild that leaves its session (setsid) and
# ignores SIGTERM too: neither a process group nor a death signal of the child reaches it.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c",
    "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
time.sleep(300)
"""
GRACE_S = 0.5


def guard(*argv: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "dashboard.orphan_guard", "--parent", str(os.getpid())]
    return subprocess.Popen(
        [*command, "--grace", str(GRACE_S), "--", *argv], cwd=ROOT, start_new_session=True
    )


def test_the_guard_exits_the_way_its_server_did():
    """The manager reads a server's fate from its guard: its exit code, or the signal it died of."""
    assert guard("sh", "-c", "exit 3").wait(30) == 3
    assert guard("sh", "-c", "kill -9 $$").wait(30) == -signal.SIGKILL


def test_sigterm_to_the_guard_ends_a_tree_that_ignores_it_and_a_grandchild_that_left_its_session():
    """Issue 10: a server that does not end on SIGTERM (a stalled loop, uWSGI's 60 s mercy) is
    SIGKILLed after the grace; its setsid() grandchild was reparented to the guard (a subreaper)."""
    proc = guard(sys.executable, "-c", STUBBORN)
    tree = wait_for(lambda: len(pids := guarded_pids(proc)) == 2 and pids, 20, what="the stubborn tree")
    asked = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGKILL
    assert alive(tree) == []
    assert time.monotonic() - asked >= GRACE_S  # it had its grace first


def test_a_server_whose_master_dies_leaves_no_worker():
    """kill -9 of a master (gunicorn's, uWSGI's) orphans its workers: the guard adopts and kills them."""
    proc = guard(sys.executable, "-c", STUBBORN)
    server, worker = wait_for(lambda: len(pids := guarded_pids(proc)) == 2 and pids, 20, what="the tree")
    os.kill(server, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    wait_for(lambda: not alive([worker]), 5, what="the orphaned worker gone")


def test_a_spawners_children_die_with_the_process_that_spawned_them():
    """kill -9 of the dashboard: Linux signals each guard (PR_SET_PDEATHSIG), which ends its tree."""
    script = (
        "import sys, time; from dashboard.children import Spawner; from pathlib import Path\n"
        f"s = Spawner(); p = s.spawn([sys.executable, '-c', {STUBBORN!r}], {{}}, s.logdir / 'x.log')\n"
        "print(s.logdir, flush=True); time.sleep(300)\n"
    )
    dashboard = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        logdir = dashboard.stdout.readline().strip()
        tree = wait_for(
            lambda: (
                len(pids := [p.pid for p in psutil.Process(dashboard.pid).children(recursive=True)]) == 3
                and pids
            ),
            20,
            what="guard, server and grandchild",
        )
        dashboard.kill()
        dashboard.wait(10)
        wait_for(lambda: not alive(tree), 3.0 + 10, what=f"the tree {tree} gone")  # children.GRACE_S
        assert not os.path.exists(logdir)  # the last guard removed its dead dashboard's logs
    finally:
        dashboard.kill()
        dashboard.stdout.close()


def test_terminate_tree_waits_for_the_guard_and_returns_every_pid():
    spawner = Spawner()
    try:
        proc = spawner.spawn(["sleep", "300"], {}, spawner.logdir / "sleep.log")
        (server,) = wait_for(lambda: guarded_pids(proc), 20, what="the server")
        assert sorted(terminate_tree(proc)) == sorted([proc.pid, server])
        assert proc.returncode is not None and alive([server]) == []
    finally:
        spawner.close()


def test_release_tree_leaves_the_guard_to_finish_and_still_collects_its_exit():
    """The dashboard, exiting, waits a moment for each guard and leaves the rest of the grace to it.
    A guard still running then was never waited for: a zombie, and a Popen that warned when it was
    collected (CI saw the ResourceWarning, an error here, in another test's setup)."""
    proc = guard(sys.executable, "-c", STUBBORN)
    wait_for(lambda: len(guarded_pids(proc)) == 2, 20, what="the stubborn tree")
    release_tree(proc, 0.01)  # less than the grace: the guard is still ending its tree
    assert proc.returncode is None
    wait_for(lambda: proc.returncode is not None, 30, what="the guard's exit collected")
    assert proc.returncode == -signal.SIGKILL


def test_every_child_gets_the_spawners_environment_beside_its_own():
    """Issue 21: the agents' key reaches every child the dashboard starts (its servers, the user's
    command, the load generator) through the one spawner, so each of them signs."""
    spawner = Spawner({"THREADPULSE_KEY": "the key", "SHARED": "spawner's"})
    try:
        log = spawner.logdir / "env.log"
        script = "import os; print(os.environ['THREADPULSE_KEY'], os.environ['SHARED'])"
        proc = spawner.spawn([sys.executable, "-c", script], {"SHARED": "child's"}, log)
        assert proc.wait(20) == 0
        assert log.read_text().split("\n")[0] == "the key child's"
    finally:
        spawner.close()


def test_a_killed_process_not_yet_reaped_is_not_seen_alive():
    """A SIGKILLed server stays in its parent's children as a zombie until reaped; the manager
    took it for alive then, and a burst the dying server reset read `done`, not failed (issue 17)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert none_dead([os.getpid(), child.pid])
        child.kill()
        wait_for(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, what="a zombie")
        assert not none_dead([os.getpid(), child.pid])
    finally:
        child.wait()
    assert not none_dead([child.pid])  # reaped: gone
