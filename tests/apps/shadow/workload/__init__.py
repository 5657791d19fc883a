"""A user's app whose top-level packages are named as Threadpulse's own: `workload`, `dashboard`."""

from __future__ import annotations

from flask import Flask

from dashboard import greeting


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return greeting()

    return app
