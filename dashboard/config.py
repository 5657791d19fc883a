"""The dashboard's settings, as run.py's flags give them (and as tests build them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dashboard.recording.fileformat import DEFAULT_CAP_MB
from dashboard.recording.reader import Recording
from dashboard.scenes.scene import Scene
from dashboard.scenes.talk import default_talk
from dashboard.servers.modes import DEFAULT_MODE, get_mode

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DASHBOARD_WORKERS = ("gevent", "gthread")  # the dashboard's own server: see dashboard/serve.py
DEFAULT_WORKER = "gevent"
# gevent: the OS threads that run HTTP requests (connections are greenlets, not threads);
# gthread: gunicorn's threads, one held by each open connection (a viewer's too).
DEFAULT_THREADS = {"gevent": 16, "gthread": 100}
MAX_THREADS = 2000
GREEN_CONNECTIONS = 5000  # open connections one green worker holds (viewers, slow clients, requests)


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    mode: str = DEFAULT_MODE
    server_params: dict[str, int] = field(default_factory=lambda: get_mode(DEFAULT_MODE).validate({}))
    collector_port: int = 0
    dashboard_worker: str = DEFAULT_WORKER
    dashboard_threads: int = DEFAULT_THREADS[DEFAULT_WORKER]
    open_browser: bool = True
    # None: everyone is a presenter (only allowed on a loopback address, see run.py).
    token: str | None = None
    token_generated: bool = False  # then the presenter URL is printed once at start
    allowed_origins: tuple[str, ...] = ()  # Socket.IO origins beside the dashboard's own
    scenes: tuple[Scene, ...] = field(default_factory=default_talk)  # run.py --scenes FILE
    record: Path | None = None  # run.py --record FILE: the event log from start
    record_cap_mb: int = DEFAULT_CAP_MB  # run.py --record-cap-mb: a recording stops at this size
    recordings_dir: Path = Path("recordings")  # where the page's recordings go (they outlive the run)
    replay: Recording | None = None  # run.py --replay FILE, read: serve it, with no server at all
    speed: float = 1.0  # run.py --speed: the replay's speed at start
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
