"""The dashboard's Flask app: wires the services to the API, the page and Socket.IO."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask
from flask_socketio import SocketIO

from dashboard.config import Config
from dashboard.fanout import Fanout, SlicedManager, start_fanout
from dashboard.files import PROJECT_ROOT
from dashboard.green import hub_emit
from dashboard.loadspec.http_request import MAX_BODY
from dashboard.services import EXTENSION, Services, build, build_replay, build_viewers
from dashboard.web import events
from dashboard.web.api import api
from dashboard.web.auth import guard_hosts, socketio_origins
from dashboard.web.metrics import metrics
from dashboard.web.pages import pages
from dashboard.web.primary import primary
from dashboard.web.viewer_sockets import bound_websockets

# The async mode follows the dashboard's worker, named explicitly: with eventlet installed
# Flask-SocketIO would otherwise pick eventlet.
ASYNC_MODES = {"gevent": "gevent", "gthread": "threading"}
# An API body is a few fields, but a load request's `body` may hold MAX_BODY bytes of compact JSON:
# sent pretty-printed, or with non-ASCII text that its compact form escapes, it must still reach the
# check that names the limit (a 400 saying so), not a bare 413 (issue 17: 65,502 bytes got one).
MAX_BODY_BYTES = 4 * MAX_BODY


def create_app(
    config: Config, start: bool = True, on_end: Callable[[int], None] | None = None
) -> tuple[Flask, Services]:
    """The dashboard app and its services (started unless `start` is False, for tests); `on_end`
    stops the whole dashboard with an exit code (see dashboard/ending.py)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    app = Flask(
        __name__,
        static_folder=str(PROJECT_ROOT / "static"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    async_mode = ASYNC_MODES[config.dashboard_worker]
    fanout = None if config.message_queue is None else Fanout(config.message_queue, async_mode == "gevent")
    socketio = SocketIO(
        app,
        async_mode=async_mode,
        cors_allowed_origins=socketio_origins(config.allowed_origins),
        client_manager=fanout or (SlicedManager() if async_mode == "gevent" else None),
    )
    guard_hosts(app, config.host)  # after SocketIO, which wraps app.wsgi_app: this covers its paths too

    def emit(event: str, data: dict, skip: list[str] | None = None) -> None:
        # A viewer-only process's frames are for its own viewers: they never go back to the queue.
        socketio.emit(event, data, skip_sid=skip, ignore_queue=config.primary is not None)

    out = hub_emit(emit) if async_mode == "gevent" else emit
    if config.primary is not None:
        services = build_viewers(config, out, fanout)
        fanout.relay_to(services.broadcaster.relayed)
    elif config.replay is None:
        services = build(config, out, on_end, fanout)
    else:
        services = build_replay(config, out, config.replay, fanout)
    app.extensions[EXTENSION] = services
    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.register_blueprint(primary)
    app.register_blueprint(metrics)
    events.register(socketio, services)
    bound_websockets(socketio.server.eio, services.broadcaster.viewer_dropped)
    if start:
        if fanout is not None:
            start_fanout(fanout)
        services.start()
    return app, services
