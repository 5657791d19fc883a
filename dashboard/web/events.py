"""Socket.IO events. Viewers only listen: nothing a viewer sends changes anything."""

from __future__ import annotations

from flask import request
from flask_socketio import SocketIO, emit

from dashboard.services import Services


def register(socketio: SocketIO, services: Services) -> None:
    """Handlers for the default namespace; events without a handler are ignored."""

    @socketio.on("connect")
    def on_connect(auth=None):
        services.broadcaster.viewers.add(request.sid)
        emit("snapshot", services.broadcaster.snapshot(request.sid), to=request.sid)

    @socketio.on("disconnect")
    def on_disconnect(*_reason):
        services.broadcaster.viewers.discard(request.sid)

    @socketio.on("resync")
    def on_resync(*_ignored):
        emit("snapshot", services.broadcaster.snapshot(request.sid), to=request.sid)
