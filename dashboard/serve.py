"""Serves the dashboard with gunicorn: one gthread worker, as Flask-SocketIO's deployment docs say.

One worker because the model lives in memory; threads because each viewer's Socket.IO
connection holds one.
"""

from __future__ import annotations

import logging
import threading
import webbrowser

from flask import Flask
from gunicorn.app.base import BaseApplication

from dashboard import gunicorn_errors
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.services import Services

log = logging.getLogger(__name__)


class DashboardServer(BaseApplication):
    """gunicorn, configured in code; the app and its services are built in the worker."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.services: Services | None = None
        super().__init__()

    def load_config(self) -> None:
        gunicorn_errors.install()  # its own 400/414/431 answers as JSON, like the API's
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        settings = {
            "bind": f"{host}:{self.config.port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": self.config.viewer_threads,
            "control_socket_disable": True,
            "graceful_timeout": 3,
            "timeout": 0,
            "loglevel": "warning",
            "when_ready": self._when_ready,
            "worker_exit": self._worker_exit,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app, self.services = create_app(self.config)
        return app

    def _when_ready(self, server) -> None:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        url = f"http://{host}:{self.config.port}/"
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
