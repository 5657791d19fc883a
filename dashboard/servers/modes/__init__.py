"""One module per server mode; `REGISTRY` maps API names to modes, in the order the page lists them."""

from __future__ import annotations

from dashboard.servers.mode import BadServerRequest, Mode
from dashboard.servers.modes.asyncio_quart import AsyncioQuart
from dashboard.servers.modes.eventlet_wsgi import Eventlet
from dashboard.servers.modes.flask_dev import FlaskDevSerial, FlaskDevThreaded
from dashboard.servers.modes.gunicorn_gevent import GunicornGevent
from dashboard.servers.modes.gunicorn_gthread import GunicornGthread
from dashboard.servers.modes.gunicorn_sync import GunicornSync
from dashboard.servers.modes.mod_wsgi import ModWsgi
from dashboard.servers.modes.uwsgi_server import Uwsgi

REGISTRY: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        FlaskDevSerial(),
        FlaskDevThreaded(),
        GunicornSync(),
        GunicornGthread(),
        Uwsgi(),
        Eventlet(),
        GunicornGevent(),
        AsyncioQuart(),
        ModWsgi(),
    )
}
DEFAULT_MODE = "gunicorn-gthread"


def get_mode(name: object) -> Mode:
    """The mode called `name`, or BadServerRequest naming the ones there are."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise BadServerRequest(f"unknown mode {str(name)[:60]!r}; modes: {', '.join(REGISTRY)}")
    return REGISTRY[name]
