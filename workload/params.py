"""Query-string validation for the workload endpoints: bad input gets a 400, never a crash."""

from __future__ import annotations

from collections.abc import Mapping

MAX_MS = 60_000


class BadParam(ValueError):
    """A query parameter the endpoint cannot use; the message is shown to the client."""


def duration_ms(args: Mapping[str, str], name: str, default: int | None = None) -> int:
    """A whole number of milliseconds from 0 to MAX_MS taken from the query string."""
    raw = args.get(name)
    if raw is None:
        if default is None:
            raise BadParam(f"missing parameter {name!r} (milliseconds, 0..{MAX_MS})")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise BadParam(f"{name} must be a whole number of milliseconds, got {raw[:40]!r}")
    value = int(raw)
    if value > MAX_MS:
        raise BadParam(f"{name} must be at most {MAX_MS}, got {value}")
    return value
