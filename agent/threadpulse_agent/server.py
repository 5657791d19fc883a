"""What server this process is a worker of, read from the real server, never assumed.

The dashboard draws each server with the capacity and per-worker slots its agent reports here
(gunicorn's worker class, workers, threads and worker connections; uWSGI's processes × threads;
the dev server's threaded flag), so a server it did not start is shown as it truly is. Each way of
knowing is tried in turn by `shape()`, which the reporter calls when it sends a roster:

- gunicorn hands its worker object over (`note_gunicorn_worker`, from a `post_fork` hook or the
  injected bootstrap's patch of `Worker.init_process`);
- uWSGI's embedded `uwsgi` module holds its options;
- a Granian worker, forked by its master, holds the master's server object (`_from_granian`);
- an ASGI server (uvicorn, Hypercorn) hands its config over as it loads the app
  (`note_asgi_server`, from the injected bootstrap's patches), and the ASGI agent reads on the event
  loop how many threads run the app's sync views (`note_pool`);
- any other server is known from a request's WSGI environ (`note_environ`, called by the
  middleware once, on the first request).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import socket
import sys
from typing import Any

from threadpulse_agent.protocol import MAX_NAME, Server

_gunicorn_worker: Any = None
_environ_shape: Server | None = None
_granian_shape: Server | None = None
_granian_looked = False
_asgi_server: tuple[str, int, tuple[str, ...]] | None = None  # (name, workers, listen)
_pool_size: int | None = None  # threads that run the app's sync views, read on the event loop

# gunicorn worker classes whose unit of work is a thread or green thread per connection slot.
_CONNECTION_CLASSES = ("gevent", "eventlet", "tornado")


def server_id(master_pid: int) -> str:
    """A server's id on the wire: this host and its master's pid (unique while it runs)."""
    return f"{socket.gethostname()[:40]}:{master_pid}"


def note_gunicorn_worker(worker: Any) -> None:
    """gunicorn's worker object of this process (called in the worker, after the fork)."""
    global _gunicorn_worker
    _gunicorn_worker = worker


def note_asgi_server(name: str, workers: int, listen: tuple[str, ...]) -> None:
    """An ASGI server's own figures, noted as it loads the app (in the process that serves it)."""
    global _asgi_server
    _asgi_server = (name, workers, tuple(address[:MAX_NAME] for address in listen))


def note_pool(size: int | None) -> None:
    """How many threads run the app's sync views (an ASGI server's slots)."""
    global _pool_size
    _pool_size = size


def note_environ(environ: dict[str, Any]) -> None:
    """Learn the server from a request's environ, when nothing better is known (dev server, ...)."""
    global _environ_shape
    if _environ_shape is not None:
        return
    software = str(environ.get("SERVER_SOFTWARE", "wsgi")).split("/")[0].lower()[:MAX_NAME] or "wsgi"
    threaded = bool(environ.get("wsgi.multithread"))
    forked = bool(environ.get("wsgi.multiprocess"))
    listen = f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"[:MAX_NAME]
    kind = f"{software} {'threaded' if threaded else 'serial'}"
    # A threaded dev server starts a thread per request: no bound. A serial one serves one at a time.
    capacity = None if threaded or forked else 1
    master = os.getppid() if forked else os.getpid()
    _environ_shape = Server(server_id(master), kind, 1, None if threaded else 1, None, capacity, (listen,))


def address(bound: Any) -> str:
    """A bind address (gunicorn's, uvicorn's host and port) as HOST:PORT (a unix socket's path as
    it is)."""
    if isinstance(bound, tuple):
        host = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
        return f"{host}:{bound[1]}"
    return str(bound)


def _from_gunicorn(worker: Any) -> Server:
    cfg = worker.cfg
    worker_class = str(cfg.worker_class_str).rsplit(".", 1)[-1].lower()
    kind = "sync"
    for name in ("gthread", "gevent", "eventlet", "tornado", "asgi", "uvicorn"):
        if name in worker_class:
            kind = name
    workers, threads = int(cfg.workers), int(cfg.threads)
    listen = tuple(address(bound)[:MAX_NAME] for bound in cfg.address)
    if kind == "uvicorn":  # an event loop a worker: its tasks unbounded, its sync views on a pool
        return Server(server_id(worker.ppid), "gunicorn uvicorn", workers, _pool_size, None, None, listen)
    if kind == "sync" and threads > 1:  # gunicorn runs -w N --threads M (M > 1) as gthread
        kind = "gthread"
    connections = int(cfg.worker_connections) if kind in _CONNECTION_CLASSES else None
    per_worker = connections if connections is not None else (threads if kind == "gthread" else 1)
    capacity = workers * per_worker
    return Server(server_id(worker.ppid), f"gunicorn {kind}", workers, threads, connections, capacity, listen)


def _from_uwsgi(uwsgi: Any) -> Server:
    opt = uwsgi.opt

    def number(name: str, default: int) -> int:
        value = opt.get(name)
        if isinstance(value, list):
            value = value[-1]
        try:
            return int(value.decode() if isinstance(value, bytes) else value)
        except (TypeError, ValueError):
            return default

    workers, threads = number("processes", number("workers", 1)), number("threads", 1)
    listen = []
    for name in ("http", "http-socket", "socket"):
        value = opt.get(name)
        for item in value if isinstance(value, list) else [value]:
            if item:
                listen.append((item.decode() if isinstance(item, bytes) else str(item))[:MAX_NAME])
    # Without --master, worker 1 is the first process and forks the others.
    master = uwsgi.masterpid() or (os.getpid() if uwsgi.worker_id() == 1 else os.getppid())
    return Server(server_id(master), "uwsgi", workers, threads, None, workers * threads, tuple(listen))


def _from_granian() -> Server | None:
    """Granian's workers and blocking threads, from the server object a forked worker inherits
    from its master (a WSGI worker is handed no object of its own). Looked for once, by the
    reporter: a scan of the heap (16 ms among a Flask app's 35,000 objects, measured here), and
    the shape does not change while the worker lives."""
    global _granian_shape, _granian_looked
    if _granian_looked:
        return _granian_shape
    _granian_looked = True
    common = sys.modules.get("granian.server.common")
    forked = multiprocessing.current_process().name == "granian-worker"
    # On a free-threaded Python Granian runs its workers as threads of its one process (MTServer).
    one_process = not forked and not getattr(sys, "_is_gil_enabled", lambda: True)()
    if common is None or not (forked or one_process):
        return None
    for found in gc.get_objects():
        if isinstance(found, common.AbstractServer):
            workers, threads = int(found.workers), int(found.blocking_threads)
            listen = (address((found.bind_addr, found.bind_port))[:MAX_NAME],)
            if forked:
                master = server_id(os.getppid())
                _granian_shape = Server(master, "granian", workers, threads, None, workers * threads, listen)
            else:  # one process holding every worker's blocking threads: drawn as its slots
                kind = f"granian, {workers} workers as threads"
                capacity = workers * threads
                _granian_shape = Server(server_id(os.getpid()), kind, 1, capacity, None, capacity, listen)
            break
    return _granian_shape


def _from_asgi(name: str, workers: int, listen: tuple[str, ...]) -> Server:
    """An ASGI server: each worker an event loop whose tasks have no bound (capacity None), its
    sync views run on a pool of `_pool_size` threads, drawn as its slots. A worker the server
    spawned (uvicorn --workers, Hypercorn's CLI always) has the server's master as its parent."""
    master = os.getppid() if multiprocessing.parent_process() is not None else os.getpid()
    return Server(server_id(master), f"{name} asyncio", workers, _pool_size, None, None, listen)


def shape() -> Server | None:
    """This process's server, or None until it is known (a dev server before its first request)."""
    try:
        if _gunicorn_worker is not None:
            return _from_gunicorn(_gunicorn_worker)
        uwsgi = sys.modules.get("uwsgi")
        if uwsgi is not None and hasattr(uwsgi, "opt"):
            return _from_uwsgi(uwsgi)
        if _asgi_server is not None:
            return _from_asgi(*_asgi_server)
        if "granian" in sys.modules:
            return _from_granian() or _environ_shape
    except Exception:  # server internals moved: say nothing rather than something false
        return None
    return _environ_shape
