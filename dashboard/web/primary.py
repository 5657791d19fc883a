"""The API between a primary dashboard and its viewer-only processes (docs/deploy.md): the view a
viewer-only process seeds its mirror from, and, there, a 409 naming the primary for the rest."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from dashboard.broadcaster import Broadcaster
from dashboard.mirror import NotSeeded
from dashboard.services import current_services

primary = Blueprint("primary", __name__, url_prefix="/api")

# What a viewer-only process answers itself: reads that need no model (the state from its mirror).
# Everything else under /api, every action first, is the primary's.
VIEWERS_ONLY_ANSWERS = {"api.health", "api.get_state", "api.modes", "api.mode_capacity", "api.list_scenes"}


@primary.get("/mirror")
def get_mirror() -> ResponseReturnValue:
    """The frames' base view with its version (Broadcaster.base), after which the frames a
    viewer-only process relays apply to it."""
    broadcaster = current_services().broadcaster
    assert isinstance(broadcaster, Broadcaster)  # a viewer-only process answered 409 before this
    return jsonify(broadcaster.base())


@primary.before_app_request
def primary_only() -> ResponseReturnValue | None:
    """In a viewer-only process, a 409 naming the primary for all of /api but VIEWERS_ONLY_ANSWERS:
    nothing here can act, and the model here is empty."""
    url = current_services().config.primary
    if url is None or request.blueprint not in ("api", "primary") or request.endpoint is None:
        return None
    if request.method == "GET" and request.endpoint in VIEWERS_ONLY_ANSWERS:
        return None
    error = (
        f"this process only serves viewers (run.py --viewers-only); send {request.method} {request.path}"
        f" to the primary dashboard at {url}"
    )
    return jsonify(error=error, primary=url), 409


@primary.app_errorhandler(NotSeeded)
def not_seeded(exc: NotSeeded) -> ResponseReturnValue:
    return jsonify(error=f"{exc}; this viewer-only process asks it again every second"), 503
