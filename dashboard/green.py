"""The dashboard on green threads: connections on gevent's hub, everything else on OS threads.

A viewer's WebSocket, or a client that never finishes its header, costs a greenlet (a few KB)
instead of one of a fixed number of OS threads, so a room of phones cannot lock the presenter
out (issue 10, fault 7). Nothing is monkey-patched: the collector, the /proc sampler, the
broadcaster's clock, the spawner (whose forking thread must live as long as the dashboard) and
the model's locks stay the real OS threads and locks they are under gthread. Plain HTTP
requests run on a small pool of OS threads, as they do under gthread, so an API call that waits
(a server switch polls for seconds) never stalls the hub; only Socket.IO runs on the hub.
"""

from __future__ import annotations

import gc
import io
import resource
import socket
from collections.abc import Callable, Iterable

import gevent
import gevent.socket
from gevent.threadpool import ThreadPool
from gunicorn.workers.ggevent import GeventWorker

from dashboard.broadcaster import Emit

SOCKETIO_PATH = "/socket.io/"
# A full collection (generation 2) walks every object not frozen, every viewer's connection among
# them, holding the hub: 1,000 viewers joining at once cost three of ~60 ms each (0.16-0.19 s of
# the worker's ~2 s of CPU, measured with gc.callbacks). One after 100 collections of the middle
# generation instead of CPython's 10: one in the same storm; the young generations keep theirs.
FULL_COLLECTION_EVERY = 100


class GreenWorker(GeventWorker):
    """gunicorn's gevent worker without `monkey.patch_all()`: only its listening sockets are green.

    Flask-SocketIO's gevent mode names gevent's queues, events and selectors itself, and
    gunicorn hands every accepted connection over as a gevent socket, so nothing else needs
    patching.
    """

    def patch(self) -> None:
        # A room needs more descriptors than a laptop's default soft limit (1,024; macOS 256).
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.cfg.worker_connections + 100  # and a hundred for logs, pipes and /proc
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(
                resource.RLIMIT_NOFILE,
                (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard),
            )
        self.sockets = [
            gevent.socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()) for s in self.sockets
        ]

    def run(self) -> None:
        """Serve, with what exists by now (modules, the app, its services) moved out of the
        collector's reach: a full collection in a viewer-only process holding a room of 500 walked
        ~130,000 objects and held the hub 100-300 ms (measured with gc.callbacks on a busy
        machine), a third of them these, which live as long as the process. What comes later
        (viewers above all) is walked fully a tenth as often (FULL_COLLECTION_EVERY)."""
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        super().run()


class OnThreads:
    """WSGI middleware: Socket.IO stays on the hub; any other request runs on an OS thread.

    The body is read on the hub first (API bodies are small and capped), because the
    connection's green socket belongs to the hub's loop; the response is written there too.
    """

    def __init__(self, app: Callable, threads: int, max_body: int) -> None:
        self.app = app
        self.max_body = max_body
        self.pool = ThreadPool(threads)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(self.max_body + 1)  # more than allowed: Flask answers 413
        environ["wsgi.input"] = io.BytesIO(body)
        environ.setdefault("CONTENT_LENGTH", str(len(body)))
        return self.pool.apply(self.app, (environ, start_response))


def hub_emit(emit: Emit) -> Emit:
    """`emit(event, data, skip)` run on the hub, in call order, from any OS thread.

    Flask-SocketIO's gevent queues belong to the hub; another thread must not touch them, so
    the broadcaster's thread hands each frame over (`run_callback_threadsafe` wakes the hub).
    """
    loop = gevent.get_hub().loop

    def send(event: str, data: dict, skip: list[str] | None = None) -> None:
        loop.run_callback_threadsafe(gevent.spawn, emit, event, data, skip)

    return send
