"""Socket.IO events. Viewers only listen: nothing a viewer sends changes anything.

python-socketio hands a client's *event* named `connect` or `disconnect` to the same handlers as
the real connection and disconnection: 500 `connect` events on each of 10 sockets made 5,010
snapshots (issue 10, fault 6). Its manager tells them apart: while the real one is handled the
viewer is still connecting (or already disconnecting), not connected, whatever the async mode.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time

from flask import request
from flask_socketio import Namespace, SocketIO

from dashboard.broadcaster import Broadcaster
from dashboard.config import VIEWERS_PER_TURN
from dashboard.mirror import Mirror, NotSeeded
from dashboard.services import Services
from dashboard.web.viewer_sockets import PING_TIMEOUT

log = logging.getLogger(__name__)

RESYNC_EVERY_S = 0.5  # a full snapshot costs the dashboard far more than a frame


class Viewers(Namespace):
    """The default namespace's handlers (`on_<event>`; events without one are ignored) and the
    one place per-viewer state lives: when each viewer last got a snapshot.

    Snapshots go out in batches: a viewer that joins (or asks again) waits for the next batch,
    and one snapshot, built and encoded once, goes to every viewer waiting then. A room that
    opens at once (a QR code on the projector) made a snapshot and its JSON per phone: with
    1,000 joining together a third of the hub's time went to them, and every phone waited for
    all of it. One viewer alone gets its own at once, after its connection is accepted.
    """

    def __init__(self, broadcaster: Broadcaster | Mirror) -> None:
        super().__init__("/")
        self.broadcaster = broadcaster
        self._last_snapshot: dict[str, float] = {}  # viewer -> when it last got one (monotonic)
        self._waiting: dict[str, None] = {}  # viewers the next batch is for, in the order they
        # asked (a dict: one asking again while it waits is in the batch once)
        self._sending = False  # a batch sender is on its way (one at a time)
        self._lock = threading.Lock()  # async handlers: one viewer's events may run at once

    def on_connect(self, auth: object = None) -> None:
        if self._sent_by_client():
            return
        self.broadcaster.viewers.add(request.sid)
        self._want_snapshot(0.0)

    def on_disconnect(self, *reason: object) -> None:
        if self._sent_by_client():
            return
        if reason[:1] == (self.socketio.server.reason.PING_TIMEOUT,):  # it missed Engine.IO's pings
            self.broadcaster.viewer_dropped(PING_TIMEOUT)
        self.broadcaster.viewers.discard(request.sid)
        with self._lock:
            self._last_snapshot.pop(request.sid, None)
            self._waiting.pop(request.sid, None)

    def on_resync(self, *_ignored: object) -> None:
        """A page that lost track asks again; more often than RESYNC_EVERY_S is ignored, so a
        viewer cannot make the dashboard build snapshots flat out (its next resync succeeds)."""
        self._want_snapshot(RESYNC_EVERY_S)

    def _sent_by_client(self) -> bool:
        """True when a `connect` or `disconnect` is an event the client sent on a live connection."""
        return self.socketio.server.manager.is_connected(request.sid, self.namespace)

    def _want_snapshot(self, at_most_every_s: float) -> None:
        """Put this viewer in the next batch, and start a sender if none is on its way."""
        now = time.monotonic()
        with self._lock:
            last = self._last_snapshot.get(request.sid)
            if last is not None and now - last < at_most_every_s:
                return
            self._last_snapshot[request.sid] = now
            self._waiting[request.sid] = None
            if self._sending:
                return
            self._sending = True
        # On the green worker a greenlet, which runs once this handler has returned: the viewers
        # that join meanwhile are in its first batch.
        try:
            self.socketio.start_background_task(self._send_snapshots)
        except BaseException:  # no sender (no thread to be had): the next viewer tries again
            with self._lock:
                self._sending = False
            raise

    def _send_snapshots(self) -> None:
        """Send batches until no viewer waits; a batch that fails is logged, the next still goes."""
        batch = self._next_batch()
        while batch:
            try:
                self._send_batch(batch)
            except Exception:
                log.exception("a snapshot for %d viewers failed", len(batch))
            batch = self._next_batch()

    def _next_batch(self) -> list[str]:
        """Up to VIEWERS_PER_TURN waiting viewers, oldest first; none ends the sender. An emit to
        more yields to the hub midway (dashboard/fanout.py), where a frame cut after the snapshot
        could reach the rest of the batch before it."""
        with self._lock:
            batch = list(itertools.islice(self._waiting, VIEWERS_PER_TURN))
            for viewer in batch:
                del self._waiting[viewer]
            self._sending = bool(batch)
            return batch

    def _send_batch(self, batch: list[str]) -> None:
        with self._lock:  # the frame that brings the view up to date is no use to a waiting viewer
            newcomers = [*batch, *self._waiting]
        try:
            snapshot = self.broadcaster.snapshot(newcomers)
        except NotSeeded:  # a viewer-only process not yet seeded: the next frame's gap asks again
            return
        # These viewers are here, not behind the message queue: no other process needs it.
        self.socketio.emit("snapshot", snapshot, to=batch, namespace=self.namespace, ignore_queue=True)


def register(socketio: SocketIO, services: Services) -> None:
    socketio.on_namespace(Viewers(services.broadcaster))
