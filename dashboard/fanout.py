"""Frames to viewers in other processes: Flask-SocketIO's Redis message queue, made safe for the
dashboard's green worker, which is not monkey-patched (dashboard/green.py); and, with a queue or
without, broadcasts on that worker's hub sent a slice of the room at a time.

python-socketio's RedisManager refuses gevent without a patched `socket`: its listener would be
a greenlet blocked in a plain socket read, and the hub, every viewer and the API's answers with
it. Here Redis is only ever read and written on OS threads of its own; what the listener reads
is handed to the hub (`run_callback_threadsafe`, as the broadcaster's frames are), where
python-socketio's own pub/sub loop delivers it to this process's viewers. Under the gthread
worker the manager runs as python-socketio ships it, on OS threads already.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import gevent
import gevent.queue
import redis
from socketio import Manager, PubSubManager, RedisManager

from dashboard.config import VIEWERS_PER_TURN

log = logging.getLogger(__name__)

CHANNEL = "flask-socketio"  # Flask-SocketIO's default: an external emitter finds us there
# Messages waiting for Redis (a frame each, 20 a second): a minute's worth, then dropped and
# counted, so that a slow or absent Redis never grows the dashboard or makes the hub wait.
OUTBOX = 1200


class BadQueueURL(ValueError):
    """A --message-queue value that names no Redis; the message says what is wrong."""


def check_queue_url(url: str) -> str:
    """`url` if it is redis://HOST[:PORT][/DB], else BadQueueURL saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadQueueURL(f"{exc}; give redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0") from None
    if parts.scheme != "redis":
        raise BadQueueURL(f"the scheme must be redis://, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise BadQueueURL("no host: give redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0")
    db = parts.path.lstrip("/")
    if db and not (db.isascii() and db.isdecimal() and len(db) <= 5):
        raise BadQueueURL(f"the database must be a number, as in redis://HOST:PORT/0, got {db[:20]!r}")
    if parts.query or parts.fragment:
        raise BadQueueURL("no query or fragment: give redis://HOST:PORT/DB")
    if port == 0:
        raise BadQueueURL("the port must be from 1 to 65535")
    return url


class Sliced:
    """A client manager whose broadcasts, on the hub, go to VIEWERS_PER_TURN viewers at a time."""

    green: bool

    def get_participants(self, namespace: str, room: object) -> Iterator[tuple[str, str]]:
        """python-socketio's participants (a copy, safe across a yield); on the hub, a turn for
        the other greenlets after every VIEWERS_PER_TURN, so that a broadcast is sent in slices."""
        participants = super().get_participants(namespace, room)
        if not self.green or gevent.getcurrent() is gevent.get_hub():
            yield from participants
            return
        for count, participant in enumerate(participants, 1):
            yield participant
            if count % VIEWERS_PER_TURN == 0:
                gevent.sleep(0)


class SlicedManager(Sliced, Manager):
    """python-socketio's manager for the green worker without a message queue."""

    green = True


class Fanout(Sliced, RedisManager):
    """python-socketio's Redis manager; `green`: Redis on OS threads, Socket.IO on the hub.

    `on_relay(event, data)` (a viewer-only process's mirror, `relay_to`) sees every broadcast
    another process published, on the thread that would deliver it; when it answers True it has
    taken the message on, and the manager does not deliver it.
    """

    def __init__(self, url: str, green: bool) -> None:
        super().__init__(url, channel=CHANNEL)
        self.green = green
        self.on_relay: Callable[[str, object], bool] | None = None
        self.dropped = 0  # messages not published: Redis too slow or away while the outbox was full
        self._outbox: queue.Queue[dict] = queue.Queue(OUTBOX)
        self._inbox: gevent.queue.Queue | None = None

    def relay_to(self, on_relay: Callable[[str, object], bool]) -> None:
        self.on_relay = on_relay

    def initialize(self) -> None:
        if not self.green:
            super().initialize()
            return
        self._inbox = gevent.queue.Queue()
        PubSubManager.initialize(self)  # its loop, a greenlet, reads the inbox (`_listen`)
        loop = gevent.get_hub().loop
        threading.Thread(target=self._receive, args=(loop,), name="threadpulse-queue-in", daemon=True).start()
        threading.Thread(target=self._send, name="threadpulse-queue-out", daemon=True).start()

    def _listen(self) -> Iterator[object]:
        if not self.green:
            yield from super()._listen()
            return
        while True:
            yield self._inbox.get()

    def _publish(self, data: dict) -> None:
        if not self.green:
            super()._publish(data)
            return
        try:
            self._outbox.put_nowait(data)
        except queue.Full:
            self.dropped += 1

    def _receive(self, loop: object) -> None:
        """Redis's subscription, read and decoded on an OS thread (it reconnects by itself,
        RedisManager's); the hub gets each message as a dict, as the pub/sub loop accepts it."""
        for message in super()._listen():
            try:
                message = self.json.loads(message)
            except ValueError:  # not JSON: the pub/sub loop ignores it
                continue
            loop.run_callback_threadsafe(self._inbox.put, message)

    def _send(self) -> None:
        while True:
            super()._publish(self._outbox.get())

    def _handle_emit(self, message: dict) -> None:
        relay = self.on_relay is not None and message.get("host_id") != self.host_id
        if relay and message.get("room") is None:
            data = message.get("data")
            single = isinstance(data, list) and len(data) == 1 and not message.get("binary")
            if single and self.on_relay(str(message.get("event")), data[0]):
                return
        super()._handle_emit(message)


def start_fanout(manager: Fanout) -> None:
    """Subscribe now, not at the first viewer's connection (python-socketio's default): a
    viewer-only process's mirror must follow the frames before anyone watches."""
    server = manager.server
    if not server.manager_initialized:
        server.manager_initialized = True
        manager.initialize()


class QueueUnavailable(RuntimeError):
    """The Redis of --message-queue does not answer; the message says what to do."""


def check_reachable(url: str) -> None:
    """QueueUnavailable unless the Redis at `url` answers PING now (checked before start, as the
    ports are: a dashboard whose frames go nowhere must not start silently)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise QueueUnavailable(
            f"--message-queue {url[:80]}: Redis does not answer ({exc}); start redis-server there, or"
            " give the URL of one that runs"
        ) from None
    finally:
        client.close()
