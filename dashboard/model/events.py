"""Every input to the model as an event with its time on the host's monotonic clock.

The model's state is a fold of these, applied one at a time through `Store.apply`, so a recording
of them replays into the same state. Each kind has a constructor (a NamedTuple) whose type hints
describe its fields (checked when a recording is read: recording/schema.py), and a fold onto the
model's methods. Their JSON form for the recording is recording/codec.py (docs/recording.md).
"""

from __future__ import annotations

import logging
from typing import Annotated, NamedTuple

from dashboard.loadspec.limits import MAX_COUNT, MAX_MS
from dashboard.loadspec.plan import Plan
from dashboard.model.dead_target import end_runs_at
from dashboard.model.fields import Between, Checked, Ns
from dashboard.model.headers import MAX_SLOTS, SceneHeader, ServerInfo
from dashboard.model.live import Model
from dashboard.model.tasks import ProcessSample
from dashboard.model.verdict import Prediction
from threadpulse_agent.protocol import Datagram

log = logging.getLogger(__name__)


class Datagrams(NamedTuple):
    """One batch the collector received: the datagrams it decoded (`raw` as sent, for the
    recording) and the reasons it refused the others for."""

    t_ns: Ns
    datagrams: Annotated[tuple[Datagram, ...], Checked()]  # decoded from `raw`
    raw: tuple[str, ...]
    bad: tuple[str, ...] = ()


class Sample(NamedTuple):
    """One /proc sampling round and the tick it drives: CPU per process (None: gone), the
    server's accept queue and the collector socket's kernel drops."""

    t_ns: Ns
    samples: dict[int, ProcessSample | None]
    backlog: Annotated[int, Between(0, 2**31)] | None
    kernel_drops: Annotated[int, Between(0, 2**63 - 1)] | None


class ServerChanged(NamedTuple):
    """The server manager's new server, or a new status of it."""

    t_ns: Ns
    info: ServerInfo
    slots: Annotated[int, Between(1, MAX_SLOTS)] | None
    retired: tuple[int, ...] = ()


class Launched(NamedTuple):
    """The server run from the user's command (`name`): its tree's pids and where it listens; no
    pids and no url: it is gone. An attached server (`run.py --attach --target URL`): no pids."""

    t_ns: Ns
    name: str
    pids: tuple[int, ...]
    url: str | None


class RunAdded(NamedTuple):
    """The load control is about to fire a burst at server `target` (None in recordings made
    before bursts named it)."""

    t_ns: Ns
    run: str
    endpoint: str
    # Named as the recording's key, which a bad file's error names; it shadows tuple.count.
    count: Annotated[int, Between(1, MAX_COUNT)]  # type: ignore[assignment]
    ms: Annotated[int, Between(0, MAX_MS)]
    target: str | None = None


class SustainAdded(NamedTuple):
    """The load control is about to start sustained load at server `target` (its schedule from
    `start_ns`); `managed`: that server is the one the dashboard runs."""

    t_ns: Ns
    run: str
    plan: Plan
    start_ns: Ns
    target: str
    managed: bool


class RunEnded(NamedTuple):
    """The load control ended a run the generator could not end itself."""

    t_ns: Ns
    run: str
    reason: str


class TargetDied(NamedTuple):
    """A server load may be sent to (`target`) exited; it was last seen alive at `since_ns`. Its
    runs end failed with `reason` (model/dead_target.py), and the generator stops sending them."""

    t_ns: Ns
    target: str
    since_ns: Ns
    reason: str


class ScenePlayed(NamedTuple):
    """A scene fired `run`, to be judged against `predicted`."""

    t_ns: Ns
    scene: SceneHeader
    run: str
    predicted: Prediction
    workers: Annotated[int, Between(1, MAX_SLOTS)]


class Ended(NamedTuple):
    """The recording stopped here (its last line): a replay runs to this time. Changes nothing."""

    t_ns: Ns


Event = (
    Datagrams
    | Sample
    | ServerChanged
    | Launched
    | RunAdded
    | SustainAdded
    | RunEnded
    | TargetDied
    | ScenePlayed
    | Ended
)


def fold(model: Model, event: Event) -> None:
    """Apply one event to the model through its own methods (the one dispatch)."""
    match event:
        case Datagrams():
            for reason in event.bad:
                model.reject(reason)
            for datagram in event.datagrams:
                try:
                    model.apply(datagram, event.t_ns)
                except Exception:  # one source's datagram must not cost the batch its neighbours
                    log.exception("model: a datagram failed")
                    model.reject("failed_datagram")
        case Sample():
            for pid, sample in event.samples.items():
                model.apply_cpu(pid, sample, event.t_ns)
            model.kernel_drops = event.kernel_drops
            model.tick(event.t_ns, event.backlog)
        case ServerChanged():
            model.set_server(event.info, event.slots, list(event.retired))
        case Launched():
            model.set_launched(event.name, list(event.pids), event.url)
        case RunAdded():
            model.add_run(event.run, event.endpoint, event.count, event.ms, event.target)
        case SustainAdded():
            model.add_sustained(event.run, event.plan, event.start_ns, event.target, event.managed)
        case RunEnded():
            model.end_run(event.run, event.t_ns, event.reason)
        case TargetDied():
            end_runs_at(model.runs.values(), event.target, event.since_ns, event.t_ns, event.reason)
        case ScenePlayed():
            model.play_scene(event.scene, event.run, event.predicted, event.workers)
        case Ended():
            pass
