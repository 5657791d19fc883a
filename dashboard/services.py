"""The dashboard's moving parts, built and wired once per dashboard process."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from flask import current_app

from dashboard.broadcaster import Broadcaster, Emit
from dashboard.children import Spawner
from dashboard.collector.udp import Collector
from dashboard.config import Config
from dashboard.launch.attach import attach
from dashboard.launch.launcher import Launcher
from dashboard.loadgen.control import LoadControl
from dashboard.loadgen.targets import Targets
from dashboard.loadspec.targets import TargetName
from dashboard.mirror import Mirror
from dashboard.model.events import Launched, ServerChanged
from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.recording.reader import Recording
from dashboard.recording.replay import ReplayClock, Replayer
from dashboard.recording.writer import Recorder
from dashboard.scenes.play import play
from dashboard.servers.interpreters import resolve
from dashboard.servers.manager import ServerManager, StartError
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import get_mode
from threadpulse_agent.signing import ENV_KEY, key_bytes

log = logging.getLogger(__name__)

EXTENSION = "threadpulse"  # the key of the Services in app.extensions

HOUSEKEEPING_S = 0.25


class RecordingBusy(RuntimeError):
    """A recording asked to start while one runs, or to stop when none does (answered 409)."""


class NotLive(RuntimeError):
    """An action that needs a live server, asked of a replay (answered 409)."""


class MessageQueue(Protocol):
    """What the API and /metrics read of a --message-queue (dashboard/fanout.py's Fanout)."""

    dropped: int  # messages not published: Redis too slow or away while the outbox was full


@dataclass
class Services:
    """Live: a collector, a server manager and a load control feed the store. Replay (`replay`
    set): the replayer alone feeds it, and those three are None. Viewer-only (`config.primary`
    set): nothing feeds it; the broadcaster is a Mirror of the primary's frames."""

    config: Config
    store: Store
    collector: Collector | None
    spawner: Spawner | None
    servers: ServerManager | None
    load: LoadControl | None
    broadcaster: Broadcaster | Mirror
    targets: Targets
    replay: Replayer | None = None
    recorder: Recorder | None = None
    launcher: Launcher | None = None
    message_queue: MessageQueue | None = None  # when frames go through Redis
    _stopping: threading.Event = field(default_factory=threading.Event)
    _recording_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def source(self) -> str:
        return "live" if self.replay is None else "replay"

    def live_only(self, action: str) -> None:
        """NotLive when this dashboard replays a recording: there is no server to act on."""
        if self.replay is not None:
            raise NotLive(f"{action} needs a live server; this dashboard replays a recording")

    def start(self) -> None:
        """Start the threads, then the configured workload server in the background (live), or
        the replay, or the mirror."""
        if self.config.primary is not None:
            self.broadcaster.start()
            return
        if self.replay is not None:
            self.broadcaster.start()
            self.replay.start()
            return
        if self.config.record is not None:
            self.start_recording(self.config.record)
        self.collector.start()
        self.broadcaster.start()
        self.load.start()
        threading.Thread(target=self._housekeep, name="threadpulse-housekeeper", daemon=True).start()
        if self.config.command or self.config.attach:
            print(f"threadpulse: agents report to {self.collector.url} (THREADPULSE_COLLECTOR)", flush=True)
        if self.launcher is not None:
            self.launcher.start()
        if self.config.attach and self.config.target:
            attach(self.store, self.targets, self.config.target)
        if self.config.managed:
            threading.Thread(target=self._first_server, name="threadpulse-first-server", daemon=True).start()

    def play_scene(self, index: int) -> str:
        """Fire scene `index` of the talk (scenes/play.py): its server, then its burst; its run id."""
        self.live_only("A scene")
        return play(self, self.config.scenes, index)

    def switch_server(self, mode: object, params: object, python: object = None) -> dict:
        """Cut running bursts short, then replace the server (see ServerManager.switch), on the
        Python named by `python` (interpreters.resolve) if given."""
        if not isinstance(params, dict):
            raise BadServerRequest("server parameters must be a JSON object")
        get_mode(mode).startable(params)  # refused before anything changes: bursts run on
        interpreter = resolve(python, get_mode(mode))
        get_mode(mode).prepare(log.info)  # a first choice installs what it needs (uWSGI): bursts run on
        self.load.stop_all("cut short: the server was switched")
        return self.servers.switch(mode, params, interpreter, str(python) if interpreter else None)

    def _first_server(self) -> None:
        try:
            self.switch_server(self.config.mode, self.config.server_params, self.config.python)
        except (StartError, BadServerRequest) as exc:
            log.error("the workload server did not start: %s", exc)

    def _housekeep(self) -> None:
        while not self._stopping.wait(HOUSEKEEPING_S):
            try:
                self.servers.check()
                self.load.reap()
                if self.launcher is not None:
                    self.launcher.check()
            except Exception:
                log.exception("housekeeping failed")

    def start_recording(self, path: Path) -> dict:
        """Record the event log to `path` from now on (the current server first, so a replay
        knows it); NotLive in a replay, RecordingBusy while one is running."""
        self.live_only("recording")
        with self._recording_lock:
            if self.recorder is not None and self.recorder.running:
                raise RecordingBusy(f"already recording to {self.recorder.path.name}; stop it first")
            recorder = Recorder(path, self.config.record_cap_mb << 20)
            recorder.start(self.store.now_ns())  # the file opened and its header written, unlocked

            def begin(model: Model) -> None:
                now = self.store.now_ns()
                recorder.offer(ServerChanged(now, dict(model.server), model.slots_per_process))
                self.store.taps[:] = [recorder.offer]

            self.store.use(begin)
            self.recorder = recorder
            return recorder.status()

    def stop_recording(self) -> dict:
        """End the recording at this instant: it holds exactly the events folded until now."""
        with self._recording_lock:
            recorder = self.recorder
            if recorder is None:
                raise RecordingBusy("nothing is being recorded")

            def finish(_model: Model) -> None:
                recorder.finish(self.store.now_ns())
                self.store.taps.clear()

            self.store.use(finish)
            recorder.stop()
            return recorder.status()

    def shutdown(self) -> None:
        """Stop every child process and close the recording; safe to call twice."""
        self._stopping.set()
        if self.replay is not None or self.config.primary is not None:
            if self.replay is not None:
                self.replay.stop()
            self.broadcaster.stop()
            return
        self.load.close()
        if self.launcher is not None:
            self.launcher.stop()
        self.servers.stop()
        if self.recorder is not None:
            self.stop_recording()
        self.broadcaster.stop()
        self.collector.stop()
        self.spawner.close()


def build(
    config: Config,
    emit: Emit,
    on_end: Callable[[int], None] | None = None,
    message_queue: MessageQueue | None = None,
) -> Services:
    """Every service, wired; nothing runs until `start()`. `on_end(code)` stops the dashboard
    (a launched command that exited before it listened); `message_queue` carries the frames to
    viewer-only processes too. BadServerRequest, before anything is
    built, when the managed server's mode cannot start with its parameters (a Config holds them as
    given, unchecked: its mode checks them, here and as it starts)."""
    if config.managed:
        get_mode(config.mode).startable(config.server_params)
    store = Store()
    key = None if config.key is None else key_bytes(config.key)
    collector = Collector(store, config.collector_host, config.collector_port, key)
    spawner = Spawner({} if config.key is None else {ENV_KEY: config.key})  # its children sign

    targets = Targets()

    def server_changed(info: dict, slots: int | None, retired: list[int]) -> None:
        store.apply(ServerChanged(time.monotonic_ns(), dict(info), slots, tuple(retired)))
        url = info["url"]
        if info["status"] == "serving" and url:  # a target while it serves; its port is then ours
            targets.add(TargetName.MANAGED, url, alive=lambda: servers.url == url)
        elif targets.remove(TargetName.MANAGED) and info["status"] == "failed":  # it died: its load stops
            load.target_died(TargetName.MANAGED, servers.alive_ns)

    servers = ServerManager(spawner, collector.url, server_changed)
    load = LoadControl(store, spawner, collector.url, targets)
    broadcaster = Broadcaster(store, emit, remote_viewers=message_queue is not None)
    launcher = None
    if config.command:

        def launched(pids: list[int], url: str | None) -> None:
            store.apply(Launched(time.monotonic_ns(), TargetName.LAUNCHED, tuple(pids), url))
            if url:  # load may go to it while its tree lives
                targets.add(TargetName.LAUNCHED, url, alive=lambda: launcher.url == url)
            elif pids and launcher.unnamed:  # it serves, on ports the user must choose from
                targets.hold(TargetName.LAUNCHED, launcher.unnamed)
            else:
                targets.remove(TargetName.LAUNCHED)

        def died(alive_ns: int) -> None:  # its load stops
            load.target_died(TargetName.LAUNCHED, alive_ns)

        cwd = Path(config.chdir or os.getcwd())
        launcher = Launcher(
            spawner, collector.url, list(config.command), cwd, config.target, launched, on_end, died
        )
    return Services(
        config, store, collector, spawner, servers, load, broadcaster, targets,
        launcher=launcher, message_queue=message_queue,
    )  # fmt: skip


def build_replay(
    config: Config, emit: Emit, recording: Recording, message_queue: MessageQueue | None = None
) -> Services:
    """The services of a replay: the recording drives the store on its own clock; no collector,
    no server, no load generator, no /proc sampling."""
    clock = ReplayClock(recording.start_ns, recording.end_ns, config.speed)
    replayer: Replayer | None = None
    store = Store(
        clock=lambda: replayer.position_ns,
        wall=lambda: recording.header["started_wall"] + (replayer.position_ns - recording.start_ns) / 1e9,
    )
    broadcaster = Broadcaster(store, emit, remote_viewers=message_queue is not None)
    replayer = Replayer(recording, store, clock, broadcaster.restart)
    return Services(
        config, store, None, None, None, None, broadcaster, Targets(),
        replay=replayer, message_queue=message_queue,
    )  # fmt: skip


def build_viewers(config: Config, emit: Emit, message_queue: MessageQueue) -> Services:
    """The services of a viewer-only process: the mirror of the primary's frames, which come
    through `message_queue`, sending them on with `emit`; an empty store (the API's reads that
    need the model answer 409 naming the primary); nothing else."""
    mirror = Mirror(config.primary, emit)
    return Services(config, Store(), None, None, None, None, mirror, Targets(), message_queue=message_queue)


def current_services() -> Services:
    """The Services of the dashboard handling this request (inside a Flask request or app context)."""
    return current_app.extensions[EXTENSION]
