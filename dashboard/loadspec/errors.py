"""The error of load that cannot be sent, apart so every module that checks load can raise it."""

from __future__ import annotations


class BadLoadRequest(ValueError):
    """Load that cannot be fired; the message says what to change (the API answers 400)."""
