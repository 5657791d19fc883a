"""Starts, watches and stops the workload server; one server at a time, never an orphan."""

from __future__ import annotations

import http.client
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dashboard.addresses import family
from dashboard.children import Spawner, guarded_pids, none_dead, release_tree, terminate_tree
from dashboard.servers.interpreters import gil_disabled, on_python
from dashboard.servers.mode import Mode
from dashboard.servers.modes import get_mode
from threadpulse_agent import ENV_COLLECTOR, ENV_MODE

log = logging.getLogger(__name__)

START_TIMEOUT_S = 20.0
POLL_S = 0.05
# How long the dashboard, exiting, waits for its server; the orphan guard ends a slower one alone.
EXIT_WAIT_S = 1.5

# Called with the server's view, the slots each process draws, and the pids now retired.
OnChange = Callable[[dict, "int | None", list[int]], None]


class StartError(RuntimeError):
    """The server did not come up; the message says why (its log's last lines)."""


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port (TCP, or UDP with SOCK_DGRAM) nothing is bound to right now."""
    with socket.socket(family(host), kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerManager:
    """Runs one workload server as a child, reporting each change of it through `on_change`."""

    def __init__(
        self, spawner: Spawner, collector_url: str, on_change: OnChange, host: str = "127.0.0.1"
    ) -> None:
        self.spawner = spawner
        self.collector_url = collector_url
        self.on_change = on_change
        self.host = host
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._mode: Mode | None = None
        self._params: dict[str, int] = {}
        self._python: Path | None = None  # the interpreter it runs on; None: the project's own
        self._interpreter: str | None = None  # as the user named it (run.py --python)
        self._url: str | None = None
        self._status = "stopped"
        self._error: str | None = None
        self._shown_pids: list[int] = []
        self.alive_ns = 0  # when the server was last seen running (monotonic): it died after that

    @property
    def url(self) -> str | None:
        """Where the current server listens (the only place the load generator may send to), while
        it runs: once it has exited its port may be anyone's."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return None
        return self._url

    def info(self) -> dict:
        """The server as `GET /api/server` shows it."""
        mode, params, proc = self._mode, self._params, self._proc  # one read: a switch may run
        pids = guarded_pids(proc) if proc is not None and self._status == "serving" else []
        return {
            "mode": mode.name if mode else None,
            "workers": params.get("workers"),
            "threads": params.get("threads"),
            "params": dict(params),
            "capacity": mode.capacity(params) if mode else 0,
            "capacity_formula": mode.capacity_formula if mode else None,
            "interpreter": self._interpreter,
            "url": self._url,
            "pids": pids,
            "status": self._status,
            "error": self._error,
        }

    def switch(
        self, mode_name: object, params: dict, python: Path | None = None, interpreter: str | None = None
    ) -> dict:
        """Stop the current server, start the one asked for, and return its info once it serves;
        on `python` (interpreters.resolve), named by the user as `interpreter`, when given.

        Bad input raises BadServerRequest before anything changes; a server that fails to start
        raises StartError and leaves status "failed" with the reason.
        """
        mode = get_mode(mode_name)
        values = mode.startable(params)
        with self._lock:
            retired = self._stop_locked()
            self._mode, self._params, self._status, self._error = mode, values, "starting", None
            self._python, self._interpreter = python, interpreter
            self._url = None
            self._publish(retired)
            try:
                self._start_locked(mode, values)
            except StartError as exc:
                self._status, self._error = "failed", str(exc)
                self._publish([])
                raise
            self._status = "serving"
            self._publish([])
            return self.info()

    def stop(self) -> None:
        """Stop the server and all its children (the dashboard is exiting): waits EXIT_WAIT_S at
        most, and the server's orphan guard ends what is slower."""
        with self._lock:
            proc, self._proc = self._proc, None
            retired = release_tree(proc, EXIT_WAIT_S) if proc is not None else []
            self._status, self._url = "stopped", None
            self._publish(retired)

    def check(self) -> None:
        """Notice a server that died on its own, or a worker replaced (called periodically).

        Skipped while a switch holds the lock: the switch publishes what it changes."""
        proc = self._proc
        if proc is None or self._status != "serving":
            return
        dead = proc.poll() is not None
        if not dead and guarded_pids(proc) == self._shown_pids:
            # Seen alive only whole: the guard outlives a killed server by a moment, and a burst the
            # dying server reset may end meanwhile (model/dead_target.py counts runs ended since).
            if none_dead(self._shown_pids):
                self.alive_ns = time.monotonic_ns()
            return
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._proc is proc and dead:
                self._status, self._error = "failed", f"the server exited with code {proc.returncode}"
                self._url = None
            if self._proc is proc:
                self._publish([])
        finally:
            self._lock.release()

    def _publish(self, retired: list[int]) -> None:
        slots = self._mode.slots_up(self._params, gil_disabled(self._python)) if self._mode else None
        info = self.info()
        self._shown_pids = info["pids"]
        self.on_change(info, slots, retired)

    def _stop_locked(self) -> list[int]:
        proc, self._proc = self._proc, None
        return terminate_tree(proc) if proc is not None else []

    def _start_locked(self, mode: Mode, params: dict[str, int]) -> None:
        port = free_port(self.host)
        log_path = self.spawner.logdir / f"{mode.name}-{port}.log"
        env = {ENV_COLLECTOR: self.collector_url, ENV_MODE: mode.name}
        log.info("starting %s %s on %s:%d", mode.name, params, self.host, port)
        argv = on_python(mode.command(params, self.host, port), self._python)
        self._proc = self.spawner.spawn(argv, env, log_path)
        url = f"http://{self.host}:{port}"
        processes = mode.processes_up(params, gil_disabled(self._python))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:  # its guard has ended whatever it forked
                self._proc = None
                raise StartError(f"{mode.name} exited at start: {_tail(log_path)}")
            if answers(self.host, port) and len(guarded_pids(self._proc)) >= processes:
                self._url, self.alive_ns = url, time.monotonic_ns()
                return
            time.sleep(POLL_S)
        terminate_tree(self._proc)
        self._proc = None
        raise StartError(f"{mode.name} did not answer within {START_TIMEOUT_S:.0f} s: {_tail(log_path)}")


def answers(host: str, port: int, path: str = "/hello") -> bool:
    """Whether an HTTP server on host:port answers `path` with 200 now."""
    conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):  # not up yet, or something else on the port
        return False
    finally:
        conn.close()


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"
