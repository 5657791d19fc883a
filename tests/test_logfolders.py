"""The dashboard's log folders: removed on exit, and a dead dashboard's by the next one."""

from __future__ import annotations

import signal
import subprocess

from dashboard import logfolders
from tests.support import wait_for


def test_a_folder_whose_owner_is_gone_is_removed_and_a_live_owners_is_kept(tmp_path):
    """Issue 10: 203 `threadpulse-*` folders piled up in the temp folder, never removed."""
    dead = _dead_pid()
    gone = tmp_path / f"threadpulse-{dead}.12345-abc"
    reused = tmp_path / f"threadpulse-1.{(logfolders.start_ticks(1) or 0) + 1}-abc"  # pid 1, not its start
    mine = logfolders.make()
    foreign = tmp_path / "threadpulse-load-xyz"  # an older dashboard's: no owner named
    try:
        own = tmp_path / mine.name
        for folder in (gone, reused, own, foreign):
            folder.mkdir()
        assert sorted(logfolders.remove_stale(tmp_path)) == sorted([gone, reused])
        assert own.exists() and foreign.exists()
    finally:
        logfolders.remove(mine)
    assert not mine.exists()


def test_a_folder_whose_owner_is_a_zombie_is_removed(tmp_path):
    """A dashboard worker that gunicorn SIGKILLed at its graceful timeout (a server slow to stop)
    never removed its folder, and stays a zombie until the master reaps it: the orphan guards'
    clean-up, run in that moment, took it for alive and the folder was left (seen in CI)."""
    owner = subprocess.Popen(["sleep", "60"])
    try:
        folder = tmp_path / f"threadpulse-{owner.pid}.{logfolders.start_ticks(owner.pid)}-abc"
        folder.mkdir()
        assert logfolders.remove_stale(tmp_path) == []
        owner.send_signal(signal.SIGKILL)
        wait_for(lambda: _state(owner.pid) == "Z", 10, what="the owner a zombie, not yet reaped")
        assert logfolders.remove_stale(tmp_path) == [folder]
    finally:
        owner.kill()
        owner.wait()


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
