"""What the server manager and the scenes tell the model in their events: the managed server's
info and the header of the scene fired last (typed here, below the model and its events)."""

from __future__ import annotations

from typing import Annotated, Literal, Required, TypedDict

from dashboard.model.fields import Between

# The largest pool a mode offers, per process and in all (eventlet's pool, gevent's connections).
MAX_SLOTS = 10_000
MAX_CAPACITY = 16 * MAX_SLOTS


class ServerInfo(TypedDict, total=False):
    """The managed server as `GET /api/server` shows it (dashboard/servers/manager.py: info)."""

    mode: str | None
    workers: Annotated[int, Between(1, MAX_SLOTS)] | None
    threads: Annotated[int, Between(1, MAX_SLOTS)] | None
    params: dict[str, Annotated[int, Between(0, MAX_SLOTS)]]
    capacity: Annotated[int, Between(0, MAX_CAPACITY)] | None
    capacity_formula: str | None
    interpreter: str | None  # the Python asked for (run.py --python); None: the project's own
    url: str | None
    pids: list[Annotated[int, Between(1, 2**31)]]
    status: Literal["starting", "serving", "stopped", "failed"]
    error: str | None


class SceneHeader(TypedDict, total=False):
    """A scene as frames show the one fired last (dashboard/scenes/scene.py: Scene.header)."""

    id: Required[str]
    title: str
    caption: str
    index: Annotated[int, Between(0, 10_000)]
    count: Annotated[int, Between(1, 10_000)]
