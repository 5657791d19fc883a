"""The interpreter this process runs on, as the dashboard shows it: version, and the GIL on or off.

Read again with every roster, not once: a free-threaded build (3.13t) turns its GIL back on at run
time when it imports an extension module not marked safe without it, and the page must say so.
"""

from __future__ import annotations

import platform
import sys

from threadpulse_agent.schema import Python


def this_python() -> Python:
    """This interpreter's version and whether its GIL is on (`sys._is_gil_enabled`, 3.13+; every
    earlier Python has one)."""
    enabled = getattr(sys, "_is_gil_enabled", None)
    return Python(platform.python_version()[:20], True if enabled is None else bool(enabled()))
