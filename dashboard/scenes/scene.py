"""A scene: a server mode with its sizes and its Python, a burst of load, a caption, and the law's
prediction."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.loadspec.limits import Burst
from dashboard.model.verdict import Prediction


@dataclass(frozen=True)
class Scene:
    id: str
    title: str
    caption: str
    mode: str
    params: dict[str, int]  # every parameter of the mode, defaults filled in
    burst: Burst
    predicted: Prediction
    python: str | None = None  # the interpreter it runs on (interpreters.resolve); None: the default

    def view(self) -> dict:
        """The scene as `GET /api/scenes` lists it."""
        return {
            "id": self.id,
            "title": self.title,
            "caption": self.caption,
            "mode": self.mode,
            "params": dict(self.params),
            "python": self.python,
            "load": {"endpoint": self.burst.endpoint, "count": self.burst.count, "ms": self.burst.ms},
            "predicted": self.predicted.view(),
        }

    def header(self, index: int, count: int) -> dict:
        """What frames say of the scene fired last (its run and verdict are added to it)."""
        return {"id": self.id, "title": self.title, "caption": self.caption, "index": index, "count": count}
