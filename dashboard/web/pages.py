"""The pages and the browser libraries they load, all served from this process (no CDN).

`/` is the laptop dashboard, `/stage` the presenter's projector layout, `/watch` the audience's
read-only phone page. All three read the same live frames.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request, send_file
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from dashboard import __version__
from dashboard.files import PLOTLY_JS, SOCKET_IO_CLIENT
from dashboard.loadspec.http_request import METHODS
from dashboard.loadspec.limits import ENDPOINTS, MAX_COUNT, MAX_MS
from dashboard.loadspec.plan import MAX_CONNECTIONS, MAX_RATE, MAX_SECONDS
from dashboard.model.history import page_contract
from dashboard.model.tasks import TASK_KEY_SEPARATOR
from dashboard.services import current_services
from dashboard.web.audience import audience_url, qr_svg
from dashboard.web.auth import token_matches

pages = Blueprint("pages", __name__)

PRESETS = [
    {"key": "1", "label": "10 × io 500 ms", "endpoint": "io", "count": 10, "ms": 500},
    {"key": "2", "label": "10 × cpu 500 ms", "endpoint": "cpu", "count": 10, "ms": 500},
]


# The stage is reloaded on a projector after its ?token= has left the address bar: a page opened
# with the token leaves this cookie, which opens the stage and nothing else (the API wants the
# header). It holds a keyed hash, not the token, so that it gives the token to no one.
STAGE_COOKIE = "threadpulse_stage"


def _live_bootstrap() -> dict:
    """What every page needs to read the live frames. `source` (`live` or `replay`, fixed for the
    dashboard's life) spares a live page asking GET /api/replay, whose 409 the console logs."""
    return {
        "version": __version__,
        "source": current_services().source,
        "task_key_separator": TASK_KEY_SEPARATOR,
        "history": page_contract(),
        # Behind a round-robin proxy (a message queue: docs/deploy.md) a long-polling session's
        # requests would reach processes that never saw it: the page opens a WebSocket at once.
        "websocket_first": current_services().config.message_queue is not None,
    }


def _stage_pass(token: str) -> str:
    return hmac.new(token.encode(), b"threadpulse: may open /stage", hashlib.sha256).hexdigest()


def _is_presenter(token: str) -> bool:
    """The token in the query, or the cookie a page opened with it left."""
    return token_matches(request.args.get("token"), token) or token_matches(
        request.cookies.get(STAGE_COOKIE), _stage_pass(token)
    )


def _remember_presenter(response: Response) -> Response:
    """A page opened with the right ?token= leaves the cookie, so that /stage opens later."""
    token = current_services().config.token
    if token is not None and token_matches(request.args.get("token"), token):
        response.set_cookie(STAGE_COOKIE, _stage_pass(token), httponly=True, samesite="Strict")
    return response


@pages.get("/")
def index() -> ResponseReturnValue:
    bootstrap = {
        **_live_bootstrap(),
        "endpoints": list(ENDPOINTS),
        "methods": list(METHODS),
        "limits": {
            "count": [1, MAX_COUNT],
            "ms": [0, MAX_MS],
            "connections": [1, MAX_CONNECTIONS],
            "seconds": [1, MAX_SECONDS],
            "rate": [1, MAX_RATE],
        },
        "presets": PRESETS,
        "presenter_required": current_services().config.presenter_required,
    }
    return _remember_presenter(Response(render_template("index.html", bootstrap=bootstrap)))


@pages.get("/stage")
def stage() -> ResponseReturnValue:
    """The presenter's page: with a token set, only for whoever holds it (the room has /watch)."""
    config = current_services().config
    if config.token is not None and not _is_presenter(config.token):
        html = render_template("stage-refused.html", audience_url=audience_url(config))
        return Response(html, status=403)
    url = audience_url(config)
    bootstrap = {**_live_bootstrap(), "presets": PRESETS}
    page = render_template("stage.html", bootstrap=bootstrap, audience_url=url, qr=Markup(qr_svg(url)))
    return _remember_presenter(Response(page))


@pages.get("/watch")
def watch() -> ResponseReturnValue:
    """The audience's page: read-only, open to everyone who can reach the dashboard."""
    return render_template("watch.html", bootstrap=_live_bootstrap())


@pages.get("/vendor/plotly.min.js")
def plotly_js() -> ResponseReturnValue:
    return _browser_library(PLOTLY_JS, "plotly.js")


@pages.get("/vendor/socket.io.min.js")
def socket_io_js() -> ResponseReturnValue:
    return _browser_library(SOCKET_IO_CLIENT, "the Socket.IO client")


def _browser_library(path: Path, name: str) -> ResponseReturnValue:
    """A library from node_modules (npm ci of package-lock.json), or a 500 saying how to get it."""
    if not path.is_file():
        abort(500, f"{name} is not installed ({path}): run `make setup` (npm ci)")
    return send_file(path, mimetype="text/javascript", max_age=3600)
