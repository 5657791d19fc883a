"""Firing a scene: the server it needs (switched only if another is running), then its burst."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from dashboard.loadgen.control import LoadControl
from dashboard.model.events import ScenePlayed
from dashboard.model.store import Store
from dashboard.scenes.scene import Scene
from dashboard.servers.manager import ServerManager

# How long a freshly switched server's workers get to report before the burst goes anyway: a
# burst fired at a half-started server would measure its start, not the law.
REPORT_TIMEOUT_S = 5.0
POLL_S = 0.05

_starting = threading.Lock()  # a switch takes seconds; a second key press must not start another


class SceneBusy(RuntimeError):
    """Another scene is starting (its server switching): answered 409."""


class Stage(Protocol):
    """What playing a scene uses of the dashboard's services (services.Services is one): the scenes
    sit below the services and are handed them, never import them."""

    servers: ServerManager
    load: LoadControl
    store: Store

    def switch_server(self, mode: object, params: object, python: object = None) -> dict: ...


def play(services: Stage, scenes: tuple[Scene, ...], index: int) -> str:
    """Switch to scene `index`'s server (on its Python) if needed, cut running bursts short, fire
    its burst, and tell the model (for frames and the verdict). Returns the run's id.

    A scene whose Python cannot be had (the free-threaded build not made) raises BadServerRequest
    from the switch, before anything changes."""
    scene = scenes[index]
    if not _starting.acquire(blocking=False):
        raise SceneBusy("another scene is still starting; wait for it")
    try:
        server = services.servers.info()
        wanted = (scene.mode, scene.params, scene.python, "serving")
        if (server["mode"], server["params"], server["interpreter"], server["status"]) != wanted:
            services.switch_server(scene.mode, dict(scene.params), scene.python)
            _wait_reported(services, scene.params.get("workers", 1))
        else:
            services.load.stop_all(f"cut short: scene {scene.id!r} started")
        burst = scene.burst
        run = services.load.fire({"endpoint": burst.endpoint, "count": burst.count, "ms": burst.ms})
        header, workers = scene.header(index, len(scenes)), scene.params.get("workers", 1)
        services.store.apply(ScenePlayed(time.monotonic_ns(), header, run, scene.predicted, workers))
        return run
    finally:
        _starting.release()


def _wait_reported(services: Stage, workers: int) -> None:
    """Until `workers` live processes have reported through their agents, or the timeout."""
    deadline = time.monotonic() + REPORT_TIMEOUT_S

    def reported(model) -> int:
        return sum(1 for p in model.processes.values() if p.gone_ns is None)

    while services.store.use(reported) < workers and time.monotonic() < deadline:
        time.sleep(POLL_S)
