"""Runs the user's server command with the agent injected, and keeps the model told of it.

The command runs in the user's directory with the user's own environment (PATH, virtualenv,
PYTHONPATH), plus THREADPULSE_COLLECTOR and the bootstrap folder first on PYTHONPATH, under an
orphan guard like every child of the dashboard: Ctrl-C, SIGTERM or the dashboard's death end its
whole tree.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dashboard.addresses import base_url
from dashboard.children import Spawner, guarded_pids, none_dead, release_tree
from dashboard.launch.address import listening, pick
from threadpulse_agent.runner import exit_code, injected_env

log = logging.getLogger(__name__)

EXIT_WAIT_S = 1.5  # as the server manager's: the guard ends a slower tree alone

# Called with the launched tree's pids (empty once it is gone) and its base URL (None until found).
OnChange = Callable[[list[int], "str | None"], None]


class Launcher:
    """The user's server, started once; `check` (called periodically) follows its pids and address."""

    def __init__(
        self,
        spawner: Spawner,
        collector_url: str,
        argv: list[str],
        cwd: Path,
        target: str | None,
        on_change: OnChange,
        on_end: Callable[[int], None] | None = None,
        on_died: Callable[[int], None] | None = None,
    ) -> None:
        """`on_end(code)` stops the dashboard, run.py exiting with `code` (dashboard/ending.py);
        `on_died(alive_ns)` is told that a command that served exited, last seen alive then."""
        self.spawner = spawner
        self.collector_url = collector_url
        self.argv = argv
        self.cwd = cwd
        self.target = target
        self.on_change = on_change
        self.on_end = on_end
        self.on_died = on_died
        self._listened = False  # whether the tree was ever seen listening on a TCP port
        self._last_seen: list[tuple[str, int]] = []  # the addresses it listened on at the last look
        self.unnamed: str | None = None  # why it has no address though it listens (several ports)
        self._proc: subprocess.Popen | None = None
        self._shown: tuple[list[int], str | None] = ([], None)
        self._lock = threading.Lock()
        self.alive_ns = 0  # when the command was last seen running (monotonic): it exited after that

    def start(self) -> None:
        # `env` sets PYTHONPATH for the command alone: the guard itself needs Threadpulse's.
        env = injected_env(self.collector_url)
        argv = ["env", f"PYTHONPATH={env.pop('PYTHONPATH')}", *self.argv]
        log.info("launching %s in %s", " ".join(self.argv), self.cwd)
        self._proc = self.spawner.spawn(argv, env, None, cwd=self.cwd)  # its output: the user's terminal
        self.check()

    @property
    def url(self) -> str | None:
        """Where load may go: the --target given, or the address found; None once it exited."""
        return self._shown[1]

    def check(self) -> None:
        """Publish the tree's pids and address when they change; notice the command's exit."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if proc.poll() is not None:
                self._proc = None
                self._exited(proc.returncode)
                return
            pids = guarded_pids(proc)
            if pids == self._shown[0] and none_dead(pids):  # seen alive only whole (servers/manager.py)
                self.alive_ns = time.monotonic_ns()
            url, unnamed = self.target or self._shown[1], self.unnamed
            if url is None or not self._listened:
                addresses = listening(pids)
                self._listened = self._listened or bool(addresses)
                url = url or self._address(addresses)
            if (pids, url) != self._shown or self.unnamed != unnamed:
                if url is not None and self._shown[1] is None:
                    print(f"threadpulse: your server listens at {url}", flush=True)
                self._publish(pids, url)

    def _address(self, addresses: list[tuple[str, int]]) -> str | None:
        """The address picked among those the server listens on, once two looks in a row agree (a
        server binds its ports one by one: seen between two binds, the first would pass for its
        only one); when it cannot be told, ask the user (once) to name it with --target, and keep
        why for load from the page."""
        settled, self._last_seen = addresses == self._last_seen, addresses
        url = pick(addresses, self.argv) if settled else None
        if url is None and settled and addresses and self.unnamed is None:
            ports = ", ".join(f":{port}" for port in sorted({port for _, port in addresses}))
            self.unnamed = (
                f"your server listens on several ports ({ports}); load from the page goes to one you"
                f" name: run run.py again with --target {base_url(*addresses[0])} (or another)"
            )
            print(f"threadpulse: {self.unnamed}", flush=True)
        return url

    def _exited(self, returncode: int) -> None:
        """A command that ended before it ever listened ends the dashboard with its exit code (there
        is nothing to watch, as ddtrace-run ends with its command); one that served and then
        exited leaves the dashboard showing what it saw, until Ctrl-C."""
        code = exit_code(returncode)
        self._publish([], None)
        if self._listened or self.on_end is None:
            print(
                f"threadpulse: your server exited (code {code}); the dashboard shows what it saw", flush=True
            )
            if self.on_died is not None:
                self.on_died(self.alive_ns)
            return
        print(
            f"threadpulse: your command exited (code {code}) before it listened on any port;"
            f" the dashboard stops, and run.py exits with code {code}",
            flush=True,
        )
        self.on_end(code)

    def stop(self) -> None:
        """End the user's server and all it started (the dashboard is exiting)."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                release_tree(proc, EXIT_WAIT_S)
                self._publish([], None)

    def _publish(self, pids: list[int], url: str | None) -> None:
        self._shown = (pids, url)
        self.on_change(pids, url)
