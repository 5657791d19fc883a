"""The agent put into a server the user launched unchanged (`run.py -- COMMAND`), the way
`ddtrace-run` and `opentelemetry-instrument` do it: hooks installed by the bootstrap folder's
`sitecustomize`, which act when the server's own modules are imported.

- gunicorn: each worker's WSGI callable is wrapped when the worker loads it (any WSGI worker
  class), and the worker itself tells the agent the server's shape (and gthread's queue);
- ASGI servers: the app is wrapped with the ASGI agent as uvicorn loads it (`Config.load`, also
  under gunicorn's uvicorn worker class, whose WSGI hook then leaves the app alone) or as
  Hypercorn's asyncio worker starts serving it (`worker_serve`), and each server's config tells
  its shape;
- anything else that serves a Flask app (`flask run`, uWSGI, `python app.py`, waitress...): the app
  is wrapped on its first request in each process, whose environ also tells the server's shape.

One agent per process: a second app in the process (a dispatcher's) is served unwrapped, and an
app the user instrumented by hand is left as it is. Standard library only.
"""

from __future__ import annotations

import importlib.abc
import inspect
import os
import sys
import threading
from collections.abc import Callable
from functools import partial, wraps
from types import ModuleType
from typing import Any

from threadpulse_agent import asgi, instrument, probes
from threadpulse_agent.middleware import is_agent
from threadpulse_agent.server import address, note_asgi_server, note_gunicorn_worker

_instrumented_pid = 0  # the process whose WSGI app the agent wraps (0: none yet)


def _claim() -> bool:
    """True once per process: this caller wraps its app, any later one does not."""
    global _instrumented_pid
    if _instrumented_pid == os.getpid():
        return False
    _instrumented_pid = os.getpid()
    return True


def _patch_gunicorn(module: ModuleType) -> None:
    worker_class = module.Worker
    load_wsgi = worker_class.load_wsgi

    def load_wsgi_instrumented(self: Any) -> None:
        load_wsgi(self)
        note_gunicorn_worker(self)
        pool = getattr(self, "tpool", None)  # gthread's executor, made before the app is loaded
        if pool is not None:
            probes.queue_depth = pool._work_queue.qsize
        # An ASGI app is wrapped as uvicorn loads it; an app that wrapped itself (the demo app does)
        # is left as it is: two agents in a process counted each request twice.
        if not _is_asgi(self.wsgi) and not _instrumented(self.wsgi) and _claim():
            self.wsgi = instrument(self.wsgi)

    worker_class.load_wsgi = load_wsgi_instrumented


def _instrumented(app: Any) -> bool:
    """Whether a WSGI app already runs under the agent: it is the agent, or a Flask app whose
    `wsgi_app` is (`app.wsgi_app = instrument(app.wsgi_app)`)."""
    return is_agent(app) or is_agent(getattr(app, "wsgi_app", None))


def _is_asgi(app: Any) -> bool:
    """An ASGI app is a coroutine function, or an object whose `__call__` is one (Quart, Starlette)."""
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)


def _claim_asgi() -> bool:
    """True once per process, unless the user's app already wrapped itself with the ASGI agent."""
    return not asgi.instrumented_here() and _claim()


def _patch_uvicorn(module: ModuleType) -> None:
    config_class = module.Config
    load = config_class.load

    def load_instrumented(self: Any) -> None:
        load(self)
        where = address((self.host, self.port)) if self.fd is None else f"fd://{self.fd}"
        note_asgi_server("uvicorn", int(self.workers), (self.uds or where,))  # for a hand-made agent too
        if _claim_asgi():
            self.loaded_app = asgi.instrument_asgi(self.loaded_app)

    config_class.load = load_instrumented


def _patch_hypercorn(module: ModuleType) -> None:
    worker_serve = module.worker_serve

    @wraps(worker_serve)
    async def worker_serve_instrumented(app: Any, config: Any, **kwargs: Any) -> None:
        # Hypercorn wraps the user's app in an ASGIWrapper (a WSGI app's wrapper is left to the
        # Flask hook); the agent goes inside it, around the app.
        if type(app).__name__ == "ASGIWrapper":
            note_asgi_server("hypercorn", int(config.workers), tuple(config.bind))  # hand-made agent too
            if _claim_asgi():
                app.app = asgi.instrument_asgi(app.app)
        await worker_serve(app, config, **kwargs)

    vars(module)["worker_serve"] = worker_serve_instrumented  # a function of the module, not a class


def _patch_flask(module: ModuleType) -> None:
    flask_class = module.Flask
    call = flask_class.__call__
    # id(app) -> what serves it in this process: the agent around it, or the app alone (a second
    # app, or one the user instrumented by hand). Decided once under a lock: a threaded server's
    # first requests arrive together, and none may slip past the agent while it starts.
    served: dict[int, Callable] = {}
    first = threading.Lock()

    def call_instrumented(self: Any, environ: dict, start_response: Callable) -> Any:
        serve = served.get(id(self))
        if serve is None:
            with first:
                serve = served.get(id(self))
                if serve is None:
                    serve = partial(call, self)
                    if not is_agent(self.wsgi_app) and _claim():
                        serve = instrument(serve)
                    served[id(self)] = serve
        return serve(environ, start_response)

    flask_class.__call__ = call_instrumented


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "gunicorn.workers.base": _patch_gunicorn,
    "flask.app": _patch_flask,
    "uvicorn.config": _patch_uvicorn,
    "hypercorn.asyncio.run": _patch_hypercorn,
}


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then the patch, on the module named in PATCHES."""

    def __init__(self, loader: Any, patch: Callable[[ModuleType], None]) -> None:
        self.loader, self.patch = loader, patch

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        try:
            self.patch(module)
        except Exception as exc:  # the user's server runs on, unwatched, rather than not at all
            print(f"threadpulse: could not instrument {module.__name__}: {exc!r}", file=sys.stderr)


class _ImportHook(importlib.abc.MetaPathFinder):
    """Finds the modules in PATCHES as the finders after it would, and patches them once loaded."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in PATCHES:
            return None
        finders = sys.meta_path[sys.meta_path.index(self) + 1 :]
        for finder in finders:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, PATCHES[name])
                return spec
        return None


def install() -> None:
    """Patch what is already imported, and hook what is imported later (called at interpreter
    start, by the bootstrap's sitecustomize)."""
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    if not any(isinstance(finder, _ImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ImportHook())
