"""Where load may go: the one registry of servers the load generator may send to.

The dashboard never sends load to a URL a viewer names. A server is a target only while whoever
runs it has registered it: the server manager (the managed demo server, removed when it stops or
fails) and the launcher or `--attach` (a user's own server). A target may carry an `alive` check
read at every use, so a server that died between two housekeeping rounds gets no load either:
its port may already be someone else's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from dashboard.loadspec.errors import BadLoadRequest
from dashboard.loadspec.targets import TargetName

MAX_ID = 200


class UnknownTarget(LookupError):
    """A server id that is not (or no longer) a registered target: the API answers 409."""


def _always() -> bool:
    return True


class Targets:
    """{server id → base URL} of the servers load may be sent to; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, tuple[str, Callable[[], bool]]] = {}
        self._held: dict[str, str] = {}  # servers that run but may not take load yet: why

    def add(self, server_id: str, url: str, alive: Callable[[], bool] | None = None) -> None:
        """Register (or move) a server; `alive`, when given, is asked before every use."""
        if not url.startswith("http://"):
            raise ValueError(f"a target's URL must start with http://, got {url[:80]!r}")
        with self._lock:
            self._targets[server_id] = (url.rstrip("/"), alive or _always)
            self._held.pop(server_id, None)

    def remove(self, server_id: str) -> bool:
        """Forget a server (it stopped, failed or was detached); whether it was a target (unknown
        ids are ignored), so that its death is told once."""
        with self._lock:
            self._held.pop(server_id, None)
            return self._targets.pop(server_id, None) is not None

    def hold(self, server_id: str, why: str) -> None:
        """A server that runs but takes no load until the user acts: load finding no target says
        `why` (what to do), not that no server serves."""
        with self._lock:
            self._targets.pop(server_id, None)
            self._held[server_id] = why

    def urls(self) -> dict[str, str]:
        """The live targets, {id: url}."""
        with self._lock:
            targets = dict(self._targets)
        return {server_id: url for server_id, (url, alive) in targets.items() if alive()}

    def resolve(self, server_id: object = None) -> tuple[str, str]:
        """(id, url) of the server named, or by default of the managed server if it serves, else of
        the only target. UnknownTarget for an id that is not a live target; BadLoadRequest when
        none is named and none (or several, none managed) could be meant."""
        live = self.urls()
        if server_id is None:
            if TargetName.MANAGED in live:
                return TargetName.MANAGED, live[TargetName.MANAGED]
            if len(live) == 1:
                return next(iter(live.items()))
            if not live:
                with self._lock:
                    held = sorted(self._held.values())
                raise BadLoadRequest("; ".join(held) or "no workload server is serving: start one first")
            raise BadLoadRequest(f"several servers serve; name one as server: {', '.join(sorted(live))}")
        if not isinstance(server_id, str) or not 0 < len(server_id) <= MAX_ID:
            raise BadLoadRequest(f"server must be a server id (a string of 1 to {MAX_ID} characters)")
        if server_id not in live:
            known = ", ".join(sorted(live)) or "none"
            raise UnknownTarget(f"no server {server_id[:60]!r} to send load to (targets: {known})")
        return server_id, live[server_id]
