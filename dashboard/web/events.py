"""Socket.IO events. Viewers only listen: nothing a viewer sends changes anything."""

from __future__ import annotations

import time

from flask import request
from flask_socketio import SocketIO, emit

from dashboard.services import Services

RESYNC_EVERY_S = 0.5  # a full snapshot costs the dashboard far more than a frame


def register(socketio: SocketIO, services: Services) -> None:
    """Handlers for the default namespace; events without a handler are ignored."""
    last_snapshot: dict[str, float] = {}  # viewer -> when it last got one (monotonic)

    def send_snapshot() -> None:
        last_snapshot[request.sid] = time.monotonic()
        emit("snapshot", services.broadcaster.snapshot(request.sid), to=request.sid)

    @socketio.on("connect")
    def on_connect(auth=None):
        services.broadcaster.viewers.add(request.sid)
        send_snapshot()

    @socketio.on("disconnect")
    def on_disconnect(*_reason):
        services.broadcaster.viewers.discard(request.sid)
        last_snapshot.pop(request.sid, None)

    @socketio.on("resync")
    def on_resync(*_ignored):
        """A page that lost track asks again; more often than RESYNC_EVERY_S is ignored, so a
        viewer cannot make the dashboard build snapshots flat out (its next resync succeeds)."""
        if time.monotonic() - last_snapshot.get(request.sid, 0.0) >= RESYNC_EVERY_S:
            send_snapshot()
