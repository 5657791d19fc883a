"""The dashboard's settings, as run.py's flags give them (and as tests build them).

A leaf: it imports nothing of the dashboard and reads no file. run_config.py reads the files the
flags name (the talk, a replay) at start and hands in what they hold; the values are checked here,
as any Config is built, so a test's `Config(**kw)` is held to the bounds run.py's flags are. A
managed server's parameters are checked by its mode (`Mode.startable`) on their way to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the talk and a replay are read at start, by run_config.py
    from dashboard.recording.reader import Recording
    from dashboard.scenes.scene import Scene

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_MODE = "gunicorn-gthread"  # the managed demo server's mode at start
DASHBOARD_WORKERS = ("gevent", "gthread")  # the dashboard's own server: see dashboard/serve.py
DEFAULT_WORKER = "gevent"
# gevent: the OS threads that run HTTP requests (connections are greenlets, not threads);
# gthread: gunicorn's threads, one held by each open connection (a viewer's too).
DEFAULT_THREADS = {"gevent": 16, "gthread": 100}
MAX_THREADS = 2000
# How long a thread of the dashboard's processes (the dashboard's worker, the load generator) may
# hold the GIL while another waits for it. A click's path crosses the hub, an API thread, the
# collector and the broadcaster, and the generator's loop beside its reporter, while /proc rounds,
# frame diffs and datagram encoding run pure Python: at CPython's 5 ms each hand-over could cost up
# to 5 ms (docs/live-frames.md). Never set in the server being watched.
SWITCH_INTERVAL_S = 0.001
# Viewers handed one message before an emit on the green worker's hub yields (dashboard/fanout.py).
# Each hand-over wakes that viewer's writer greenlet, and gevent runs woken greenlets in order: a
# room of 500 queued at once put every step of an /api/health request (accept, read, answer) behind
# all 500 writes (~90 µs each here, py-spy), where now it waits behind at most this many.
VIEWERS_PER_TURN = 50
GREEN_CONNECTIONS = 5000  # open connections one green worker holds (viewers, slow clients, requests)
DEFAULT_CAP_MB = 200  # run.py --record-cap-mb: a recording stops here, the dashboard runs on
MAX_CAP_MB = 100_000
SPEEDS = (0.25, 8.0)  # the slowest and fastest replay


class BadConfig(ValueError):
    """A setting the dashboard cannot run with; the message names its flag and the bounds."""


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    mode: str = DEFAULT_MODE
    # The managed server's parameters given; its mode's defaults fill the rest as it starts.
    server_params: dict[str, int] = field(default_factory=dict)
    # The managed server's interpreter (run.py --python): "free-threaded", a path, None: ours.
    python: str | None = None
    collector_host: str = DEFAULT_HOST  # where the agents' collector listens (run.py --collector-host)
    collector_port: int = 0
    # The key agents sign datagrams with (run.py --key-file, THREADPULSE_KEY): its text, stripped.
    key: str | None = field(default=None, repr=False)  # a secret: never in a log or a traceback
    dashboard_worker: str = DEFAULT_WORKER
    dashboard_threads: int = DEFAULT_THREADS[DEFAULT_WORKER]
    open_browser: bool = True
    # None: everyone is a presenter (only allowed on a loopback address, see run.py).
    token: str | None = None
    token_generated: bool = False  # then the presenter URL is printed once at start
    allowed_origins: tuple[str, ...] = ()  # Socket.IO origins beside the dashboard's own
    scenes: tuple[Scene, ...] = ()  # the talk, read from run.py --scenes FILE (none: no scenes)
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
    # Many viewers (docs/deploy.md): frames also go through this Redis (run.py --message-queue URL).
    message_queue: str | None = None
    # run.py --viewers-only --primary URL: pages and Socket.IO only, relaying the primary's frames.
    primary: str | None = None

    def __post_init__(self) -> None:
        """BadConfig, naming the flag, for a value out of its bounds: nothing is built with it."""
        if not 0 < self.port < 65536:
            raise BadConfig(f"--port must be from 1 to 65535, got {self.port}")
        if not 0 <= self.collector_port < 65536:
            raise BadConfig(f"--collector-port must be from 0 to 65535, got {self.collector_port}")
        if self.dashboard_worker not in DASHBOARD_WORKERS:
            workers = ", ".join(DASHBOARD_WORKERS)
            raise BadConfig(f"--dashboard-worker must be one of {workers}, got {self.dashboard_worker!r}")
        if not 1 <= self.dashboard_threads <= MAX_THREADS:
            threads = self.dashboard_threads
            raise BadConfig(f"--dashboard-threads must be from 1 to {MAX_THREADS}, got {threads}")
        if not 1 <= self.record_cap_mb <= MAX_CAP_MB:
            raise BadConfig(f"--record-cap-mb must be from 1 to {MAX_CAP_MB}, got {self.record_cap_mb}")
        if self.primary is not None and self.message_queue is None:
            raise BadConfig("--viewers-only needs --message-queue: the primary's frames come through it")
        if not SPEEDS[0] <= self.speed <= SPEEDS[1]:
            raise BadConfig(f"--speed must be from {SPEEDS[0]:g} to {SPEEDS[1]:g}, got {self.speed:g}")

    @property
    def presenter_required(self) -> bool:
        """Only a page holding the token may act; any other page is a read-only viewer."""
        return self.token is not None
