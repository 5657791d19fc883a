"""How the model's events describe their fields beyond a type: a range, a time, a field checked
already. Markers only, read by the recording's field checks (recording/schema.py), so that the
description of an event is its type and nothing else."""

from __future__ import annotations

from typing import Annotated, NamedTuple


class Between(NamedTuple):
    """The range of an `Annotated` int or float, both ends included."""

    low: float
    high: float


INT64 = Between(-(2**63), 2**63 - 1)
Ns = Annotated[int, Between(0, 2**63 - 1)]  # a time on a host's monotonic clock


class Checked(NamedTuple):
    """Marks a field a decoder made and checked already (a datagram: agent/threadpulse_agent/protocol.py)."""
