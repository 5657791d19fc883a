"""Lets workload code say what a request is doing now: "cpu" or "io".

The dashboard tells a thread starved by the GIL (a CPU phase, blocked) from one waiting on I/O
(an I/O phase, blocked) by this declaration. A no-op when the agent is off.
"""

from __future__ import annotations

from collections.abc import Callable

_sink: Callable[[str], None] | None = None


def mark(phase: str) -> None:
    """Declare the current request's phase; cheap (one buffered event) and never raises."""
    sink = _sink
    if sink is not None:
        sink(phase)


def connect(sink: Callable[[str], None] | None) -> None:
    """Route phase marks to the agent (or nowhere, with None)."""
    global _sink
    _sink = sink
