"""Which tasks the agent lists as alive (its roster), against what the OS says."""

from __future__ import annotations

import os
import threading

from tests.support import wait_for
from threadpulse_agent.tasks import TaskRegistry


def test_the_thread_that_forked_stays_alive_in_the_childs_roster():
    """A gunicorn sync worker serves on the thread that forked it; CPython 3.11 keeps the parent's
    native id on that thread, and the page showed the worker's only task gone mid-request."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: register this thread as a request would, then take two rosters
        try:
            registry = TaskRegistry()
            task = registry.current()
            rosters = [[t.id for t in registry.alive()] for _ in range(2)]
            ok = task == threading.get_native_id() and rosters == [[task], [task]]
            os.write(write, b"ok" if ok else repr((task, rosters)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == b"ok"


def test_a_finished_thread_is_listed_once_more_then_left_out():
    """Its `end` event leaves in the same flush as the first roster without it, never after.

    The roster follows /proc/self/task, and after `join()` returns the kernel can list the thread
    a little longer (seen on a busy machine): the test waits for the OS to let it go first."""
    registry = TaskRegistry()
    ids: list[int] = []
    thread = threading.Thread(target=lambda: ids.append(registry.current()))
    thread.start()
    thread.join()
    wait_for(lambda: not os.path.exists(f"/proc/self/task/{ids[0]}"), 5, what="the kernel to reap the thread")
    assert ids[0] in [t.id for t in registry.alive()]
    assert ids[0] not in [t.id for t in registry.alive()]
