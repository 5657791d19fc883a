"""The names of the servers load may go to, one enum for the model, the load API and the page."""

from __future__ import annotations

from enum import StrEnum


class TargetName(StrEnum):
    """A server's id as a load target; a StrEnum, so it is its string on the wire and in recordings."""

    MANAGED = "managed"  # the demo server the dashboard's server manager runs
    LAUNCHED = "launched"  # the server run from the user's command (run.py -- COMMAND)
    ATTACHED = "attached"  # a server that reports on its own (run.py --attach --target URL)
