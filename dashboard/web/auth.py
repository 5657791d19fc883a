"""Viewers and the presenter: who may change anything, checked in this one place.

Watching is open to every page; every state-changing route is wrapped in `presenter_only`. With a
token (given, or generated because the dashboard listens beyond this machine) only a request
carrying it in the X-Threadpulse-Token header may act. Without one (a laptop: loopback only)
everyone may, but a browser still cannot be made to act by another site: cross-site Origins are
refused. On a loopback bind every request naming a host that is not loopback is refused, reads
too (`LoopbackHostsOnly`): a site that rebinds its own name to 127.0.0.1 is same-origin with the
dashboard, so only the Host header tells its pages apart.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, jsonify, request

from dashboard.addresses import is_loopback
from dashboard.services import current_services

TOKEN_HEADER = "X-Threadpulse-Token"
ENV_TOKEN = "THREADPULSE_TOKEN"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{8,200}")  # safe in a header and a URL, unescaped
FOREIGN_HOST = "this dashboard listens on loopback: open it as localhost or 127.0.0.1, not by another name"


def resolve_token(given: str | None, host: str) -> tuple[str | None, bool]:
    """(token, generated): the given one; none on loopback; else a fresh one to print once.

    ValueError when a given token could not travel in a header or URL as it is.
    """
    if given:
        if not TOKEN_PATTERN.fullmatch(given):
            raise ValueError("the token must be 8 to 200 characters from A-Z a-z 0-9 . _ ~ -")
        return given, False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(24), True


def token_matches(given: str | None, token: str) -> bool:
    """Compared in constant time, so the time taken tells nothing about the token."""
    return given is not None and hmac.compare_digest(given.encode(errors="replace"), token.encode())


def origin_allowed(origin: str | None, environ: dict[str, Any], extra: tuple[str, ...] = ()) -> bool:
    """No Origin (not a browser), the dashboard's own origin, or one configured with --allowed-origin."""
    if not origin:
        return True
    own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
    return origin == own or origin in extra


def socketio_origins(extra: tuple[str, ...]) -> Callable[[str, dict[str, Any]], bool]:
    """Flask-SocketIO's `cors_allowed_origins`: the dashboard's own origin plus `extra`."""
    return lambda origin, environ: origin_allowed(origin, environ, extra)


def refusal() -> str | None:
    """Why the current request may not change anything, or None when it may."""
    config = current_services().config
    if not origin_allowed(request.headers.get("Origin"), request.environ, config.allowed_origins):
        return "requests from another site may not change anything"
    if config.token is not None and not token_matches(request.headers.get(TOKEN_HEADER), config.token):
        return f"only the presenter may do this: send the presenter token in the {TOKEN_HEADER} header"
    return None


def presenter_only(view: Callable) -> Callable:
    """Answer 403 with a JSON error, before the view runs, to any request that is not the presenter's."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        reason = refusal()
        if reason is not None:
            return jsonify(error=reason), 403
        return view(*args, **kwargs)

    return guarded


class LoopbackHostsOnly:
    """WSGI middleware, outermost, so that it covers every route there is or will be: the pages,
    static files, the API and the Socket.IO handshake and upgrade (which Flask-SocketIO answers
    before Flask routes anything). A request without a Host header is not a browser's."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        host = environ.get("HTTP_HOST")
        if host is None or is_loopback(_host_name(host).lower()):
            return self.app(environ, start_response)
        refused = Response(json.dumps({"error": FOREIGN_HOST}), 403, mimetype="application/json")
        return refused(environ, start_response)


def guard_hosts(app: Flask, bind_host: str) -> None:
    """On a loopback bind, refuse every request naming another host (DNS rebinding). Beyond
    loopback (a talk room) the dashboard is reached by names of the room's own; the token guards
    actions there. Call it after Flask-SocketIO has wrapped the app, so this wraps that."""
    if is_loopback(bind_host):
        app.wsgi_app = LoopbackHostsOnly(app.wsgi_app)


def _host_name(host: str) -> str:
    """The name in a Host header, without its port (`[::1]:8050` -> `::1`)."""
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rpartition(":")[0] if ":" in host else host
