"""One module per server mode; `REGISTRY` maps API names to modes."""

from __future__ import annotations

from dashboard.servers.mode import BadServerRequest, Mode
from dashboard.servers.modes.gunicorn_gthread import GunicornGthread

REGISTRY: dict[str, Mode] = {mode.name: mode for mode in (GunicornGthread(),)}
DEFAULT_MODE = "gunicorn-gthread"


def get_mode(name: object) -> Mode:
    """The mode called `name`, or BadServerRequest naming the ones there are."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise BadServerRequest(f"unknown mode {str(name)[:60]!r}; modes: {', '.join(REGISTRY)}")
    return REGISTRY[name]
