"""The page and the browser libraries it loads, all served from this process (no CDN)."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, abort, render_template, send_file
from flask.typing import ResponseReturnValue

from dashboard import __version__
from dashboard.children import PROJECT_ROOT
from dashboard.loadgen.limits import ENDPOINTS, MAX_COUNT, MAX_MS
from dashboard.model.history import page_contract
from dashboard.model.live import TASK_KEY_SEPARATOR
from dashboard.services import current_services

pages = Blueprint("pages", __name__)

SOCKET_IO_CLIENT = PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
PRESETS = [
    {"key": "1", "label": "10 × io 500 ms", "endpoint": "io", "count": 10, "ms": 500},
    {"key": "2", "label": "10 × cpu 500 ms", "endpoint": "cpu", "count": 10, "ms": 500},
]


@pages.get("/")
def index() -> ResponseReturnValue:
    bootstrap = {
        "version": __version__,
        "endpoints": list(ENDPOINTS),
        "limits": {"count": [1, MAX_COUNT], "ms": [0, MAX_MS]},
        "presets": PRESETS,
        "presenter_required": current_services().config.presenter_required,
        "task_key_separator": TASK_KEY_SEPARATOR,
        "history": page_contract(),
    }
    return render_template("index.html", bootstrap=bootstrap)


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@pages.get("/vendor/plotly.min.js")
def plotly_js() -> ResponseReturnValue:
    return Response(_plotly_js(), mimetype="text/javascript", headers={"Cache-Control": "max-age=3600"})


@pages.get("/vendor/socket.io.min.js")
def socket_io_js() -> ResponseReturnValue:
    if not SOCKET_IO_CLIENT.is_file():
        abort(500, "the Socket.IO client is not installed: run `make setup` (npm ci)")
    return send_file(SOCKET_IO_CLIENT, mimetype="text/javascript", max_age=3600)
