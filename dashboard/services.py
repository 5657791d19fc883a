"""The dashboard's moving parts, built and wired once per dashboard process."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from dashboard.broadcaster import Broadcaster
from dashboard.children import Spawner
from dashboard.collector.store import Store
from dashboard.collector.udp import Collector
from dashboard.config import Config
from dashboard.launch.launcher import NAME, Launcher
from dashboard.loadgen.control import LoadControl
from dashboard.servers.manager import ServerManager, StartError
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import get_mode

log = logging.getLogger(__name__)

EXTENSION = "threadpulse"  # the key of the Services in app.extensions

HOUSEKEEPING_S = 0.25


@dataclass
class Services:
    config: Config
    store: Store
    collector: Collector
    spawner: Spawner
    servers: ServerManager
    load: LoadControl
    broadcaster: Broadcaster
    launcher: Launcher | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start the threads, then the configured workload server in the background."""
        self.collector.start()
        self.broadcaster.start()
        self.load.start()
        threading.Thread(target=self._housekeep, name="threadpulse-housekeeper", daemon=True).start()
        if self.config.command or self.config.attach:
            print(f"threadpulse: agents report to {self.collector.url} (THREADPULSE_COLLECTOR)", flush=True)
        if self.launcher is not None:
            self.launcher.start()
        if self.config.managed:
            threading.Thread(target=self._first_server, name="threadpulse-first-server", daemon=True).start()

    def switch_server(self, mode: object, params: object) -> dict:
        """Cut running bursts short, then replace the server (see ServerManager.switch)."""
        if not isinstance(params, dict):
            raise BadServerRequest("server parameters must be a JSON object")
        get_mode(mode).startable(params)  # refused before anything changes: bursts run on
        self.load.stop_all("cut short: the server was switched")
        return self.servers.switch(mode, params)

    def _first_server(self) -> None:
        try:
            self.switch_server(self.config.mode, self.config.server_params)
        except (StartError, BadServerRequest) as exc:
            log.error("the workload server did not start: %s", exc)

    def _housekeep(self) -> None:
        while not self._stopping.wait(HOUSEKEEPING_S):
            try:
                self.servers.check()
                self.load.reap()
                if self.launcher is not None:
                    self.launcher.check()
            except Exception:
                log.exception("housekeeping failed")

    def shutdown(self) -> None:
        """Stop every child process; safe to call twice."""
        self._stopping.set()
        self.load.close()
        if self.launcher is not None:
            self.launcher.stop()
        self.servers.stop()
        self.broadcaster.stop()
        self.collector.stop()
        self.spawner.close()


def build(config: Config, emit: Callable[[str, dict, str | None], None]) -> Services:
    """Every service, wired; nothing runs until `start()`."""
    store = Store()
    collector = Collector(store, "127.0.0.1", config.collector_port)  # agents run on this host
    spawner = Spawner()

    def server_changed(info: dict, slots: int | None, retired: list[int]) -> None:
        store.update(lambda model: model.set_server(info, slots, retired))

    servers = ServerManager(spawner, collector.url, server_changed)
    load = LoadControl(store, spawner, collector.url, lambda: servers.url)
    broadcaster = Broadcaster(store, emit)
    launcher = None
    if config.command:

        def launched(pids: list[int], url: str | None) -> None:
            store.update(lambda model: model.set_launched(NAME, pids, url))

        cwd = Path(config.chdir or os.getcwd())
        launcher = Launcher(spawner, collector.url, list(config.command), cwd, config.target, launched)
    return Services(config, store, collector, spawner, servers, load, broadcaster, launcher)


def current_services() -> Services:
    """The Services of the dashboard handling this request (inside a Flask request or app context)."""
    return current_app.extensions[EXTENSION]
