"""Requests done and failed, per server: the one count the totals are derived from.

Each finished request is counted once, under the id of the server whose process took it (or
UNATTRIBUTED, for a failure no server was seen taking); the totals are the sum, never kept beside.
"""

from __future__ import annotations

from typing import TypedDict

UNATTRIBUTED = "(unattributed)"  # the tally of failures no server was seen taking


class Tally(TypedDict):
    done: int
    failed: int


class Tallies(dict[str, Tally]):
    """Per server id, its requests done and failed (a dict, as the views read it)."""

    def count(self, server: str, ok: bool) -> None:
        """One request that `server` finished (or failed)."""
        tally = self.setdefault(server, {"done": 0, "failed": 0})
        tally["done" if ok else "failed"] += 1

    def retract_failure(self, server: str) -> None:
        """A request counted failed (its task went under it) whose End came after all: it is
        counted again by that End, so its failure is taken back."""
        tally = self.get(server)
        if tally is not None and tally["failed"] > 0:
            tally["failed"] -= 1

    def rename(self, old: str, new: str) -> None:
        """A process counted under `old` (HOST:PID, before its agent named its server) is `new`'s:
        what it counted moves along."""
        early = self.pop(old, None)
        tally = self.setdefault(new, {"done": 0, "failed": 0})
        if early is not None:
            tally["done"] += early["done"]
            tally["failed"] += early["failed"]

    @property
    def done(self) -> int:
        """Requests done, all servers told."""
        return sum(tally["done"] for tally in self.values())

    @property
    def failed(self) -> int:
        return sum(tally["failed"] for tally in self.values())
