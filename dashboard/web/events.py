"""Socket.IO events. Viewers only listen: nothing a viewer sends changes anything.

python-socketio hands a client's *event* named `connect` or `disconnect` to the same handlers as
the real connection and disconnection: 500 `connect` events on each of 10 sockets made 5,010
snapshots (issue 10, fault 6). Its manager tells them apart: while the real one is handled the
viewer is still connecting (or already disconnecting), not connected, whatever the async mode.
"""

from __future__ import annotations

import threading
import time

from flask import request
from flask_socketio import Namespace, SocketIO, emit

from dashboard.broadcaster import Broadcaster
from dashboard.mirror import Mirror, NotSeeded
from dashboard.services import Services
from dashboard.web.viewer_sockets import PING_TIMEOUT

RESYNC_EVERY_S = 0.5  # a full snapshot costs the dashboard far more than a frame


class Viewers(Namespace):
    """The default namespace's handlers (`on_<event>`; events without one are ignored) and the
    one place per-viewer state lives: when each viewer last got a snapshot."""

    def __init__(self, broadcaster: Broadcaster | Mirror) -> None:
        super().__init__("/")
        self.broadcaster = broadcaster
        self._last_snapshot: dict[str, float] = {}  # viewer -> when it last got one (monotonic)
        self._lock = threading.Lock()  # async handlers: one viewer's events may run at once

    def on_connect(self, auth: object = None) -> None:
        if self._sent_by_client():
            return
        self.broadcaster.viewers.add(request.sid)
        self._send_snapshot(0.0)

    def on_disconnect(self, *reason: object) -> None:
        if self._sent_by_client():
            return
        if reason[:1] == (self.socketio.server.reason.PING_TIMEOUT,):  # it missed Engine.IO's pings
            self.broadcaster.viewer_dropped(PING_TIMEOUT)
        self.broadcaster.viewers.discard(request.sid)
        with self._lock:
            self._last_snapshot.pop(request.sid, None)

    def on_resync(self, *_ignored: object) -> None:
        """A page that lost track asks again; more often than RESYNC_EVERY_S is ignored, so a
        viewer cannot make the dashboard build snapshots flat out (its next resync succeeds)."""
        self._send_snapshot(RESYNC_EVERY_S)

    def _sent_by_client(self) -> bool:
        """True when a `connect` or `disconnect` is an event the client sent on a live connection."""
        return self.socketio.server.manager.is_connected(request.sid, self.namespace)

    def _send_snapshot(self, at_most_every_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last_snapshot.get(request.sid)
            if last is not None and now - last < at_most_every_s:
                return
            self._last_snapshot[request.sid] = now
        try:
            snapshot = self.broadcaster.snapshot(request.sid)
        except NotSeeded:  # a viewer-only process not yet seeded: the next frame's gap asks again
            return
        # This viewer is here, not behind the message queue: no other process needs its snapshot.
        emit("snapshot", snapshot, to=request.sid, ignore_queue=True)


def register(socketio: SocketIO, services: Services) -> None:
    socketio.on_namespace(Viewers(services.broadcaster))
