"""The dashboard's settings, as run.py's flags give them (and as tests build them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dashboard.scenes.scene import Scene
from dashboard.scenes.talk import default_talk
from dashboard.servers.modes import DEFAULT_MODE, get_mode

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_THREADS = 100  # viewers hold a thread each (Flask-SocketIO threading mode under gthread)


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    mode: str = DEFAULT_MODE
    server_params: dict[str, int] = field(default_factory=lambda: get_mode(DEFAULT_MODE).validate({}))
    collector_port: int = 0
    viewer_threads: int = DEFAULT_THREADS
    open_browser: bool = True
    # None: everyone is a presenter (only allowed on a loopback address, see run.py).
    token: str | None = None
    token_generated: bool = False  # then the presenter URL is printed once at start
    allowed_origins: tuple[str, ...] = ()  # Socket.IO origins beside the dashboard's own
    scenes: tuple[Scene, ...] = field(default_factory=default_talk)  # run.py --scenes FILE
    public_url: str | None = None  # the dashboard's address as the audience reaches it (the stage's QR code)
    # Watching the user's own server (run.py -- COMMAND, --attach): see dashboard/launch.
    command: tuple[str, ...] = ()  # the user's server command, run with the agent injected
    chdir: str | None = None  # where it runs (default: the current directory)
    target: str | None = None  # its base URL, when the dashboard should not look for it
    attach: bool = False  # listen only: servers started elsewhere report on their own
    managed: bool = True  # start the managed demo server too

    @property
    def presenter_required(self) -> bool:
        """Only a page holding the token may act; any other page is a read-only viewer."""
        return self.token is not None
