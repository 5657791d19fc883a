"""Serves the dashboard with gunicorn: one worker, because the model lives in memory, forked once
(a dead worker ends run.py rather than start an empty dashboard: dashboard/ending.py).

The worker is green by default (dashboard/green.py): a connection costs a greenlet, so a
thousand viewers and a few hundred slow clients leave the API and the pages answering. The
gthread worker is kept as `--dashboard-worker gthread`, where each open connection holds one of
`--dashboard-threads` OS threads (the model that locked out at about 100 connections).
"""

from __future__ import annotations

import logging
import sys
import threading
import webbrowser

from flask import Flask
from gunicorn.app.base import BaseApplication

from dashboard import gunicorn_errors, logfolders
from dashboard.addresses import host_port
from dashboard.app import MAX_BODY_BYTES, create_app
from dashboard.config import GREEN_CONNECTIONS, SWITCH_INTERVAL_S, Config
from dashboard.ending import Ending
from dashboard.green import OnThreads
from dashboard.services import Services

log = logging.getLogger(__name__)


class DashboardServer(BaseApplication):
    """gunicorn, configured in code; the app and its services are built in the worker."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.services: Services | None = None
        self.ending = Ending()  # before the fork: the worker inherits it
        super().__init__()

    def load_config(self) -> None:
        gunicorn_errors.install()  # its own 400/414/431 answers as JSON, like the API's
        settings = {
            "bind": host_port(self.config.host, self.config.port),
            "workers": 1,
            **self._worker_settings(),
            "control_socket_disable": True,
            "graceful_timeout": 3,
            "timeout": 0,
            "loglevel": "warning",
            "when_ready": self._when_ready,
            "pre_fork": self.ending.pre_fork,
            "worker_exit": self._worker_exit,
            # A worker killed at the graceful timeout (a server slow to stop) never removed its log
            # folder; its guards usually do, and the master, last to go, looks once more.
            "on_exit": lambda server: logfolders.remove_stale(),
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def _worker_settings(self) -> dict:
        if self.config.dashboard_worker == "gthread":
            return {"worker_class": "gthread", "threads": self.config.dashboard_threads}
        # Connections, not threads, are what a green worker counts: viewers and slow clients alike.
        return {"worker_class": "dashboard.green.GreenWorker", "worker_connections": GREEN_CONNECTIONS}

    def run(self) -> None:
        """gunicorn's run; the exit code is the one the worker asked for, if it did."""
        try:
            super().run()
        except SystemExit:
            code = self.ending.code()
            if code is None:
                raise
            raise SystemExit(code) from None

    def load(self) -> Flask | OnThreads:
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # in the worker: the dashboard's own process
        app, self.services = create_app(self.config, on_end=self.ending.end)
        if self.config.dashboard_worker == "gthread":
            return app
        return OnThreads(app, self.config.dashboard_threads, MAX_BODY_BYTES)

    def _when_ready(self, server) -> None:
        url = f"http://{host_port(self.config.host, self.config.port)}/"
        print(f"Threadpulse dashboard: {url}  (Ctrl-C stops it and its workload server)", flush=True)
        if self.config.token_generated:
            # Printed, never logged: the one place the generated token is ever shown.
            url += f"?token={self.config.token}"
            print(f"Presenter URL (it controls the dashboard; keep it to yourself): {url}", flush=True)
        if self.config.open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    def _worker_exit(self, server, worker) -> None:
        if self.services is not None:
            self.services.shutdown()
