"""Every input to the model as an event with its time on the host's monotonic clock.

The model's state is a fold of these, applied one at a time through `Store.apply`, so a recording
of them replays into the same state. Each kind has a constructor (a NamedTuple), a fold onto the
model's existing methods, and a JSON form for the recording (docs/recording.md).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from dashboard.loadgen.errors import BadLoadRequest
from dashboard.loadgen.http_request import HttpRequest
from dashboard.loadgen.plan import Plan
from dashboard.model.dead_target import end_runs_at
from dashboard.model.live import Model, ProcessSample
from dashboard.model.verdict import Prediction
from workload.agent.protocol import Datagram, ProtocolError, decode

log = logging.getLogger(__name__)


class Datagrams(NamedTuple):
    """One batch the collector received: the datagrams it decoded (`raw` as sent, for the
    recording) and the reasons it refused the others for."""

    t_ns: int
    datagrams: tuple[Datagram, ...]
    raw: tuple[str, ...]
    bad: tuple[str, ...] = ()


class Sample(NamedTuple):
    """One /proc sampling round and the tick it drives: CPU per process (None: gone), the
    server's accept queue and the collector socket's kernel drops."""

    t_ns: int
    samples: dict[int, ProcessSample | None]
    backlog: int | None
    kernel_drops: int | None


class ServerChanged(NamedTuple):
    """The server manager's new server, or a new status of it."""

    t_ns: int
    info: dict
    slots: int | None
    retired: tuple[int, ...] = ()


class Launched(NamedTuple):
    """The server run from the user's command (`name`): its tree's pids and where it listens; no
    pids and no url: it is gone. An attached server (`run.py --attach --target URL`): no pids."""

    t_ns: int
    name: str
    pids: tuple[int, ...]
    url: str | None


class RunAdded(NamedTuple):
    """The load control is about to fire a burst at server `target` (None in recordings made
    before bursts named it)."""

    t_ns: int
    run: str
    endpoint: str
    count: int
    ms: int
    target: str | None = None


class SustainAdded(NamedTuple):
    """The load control is about to start sustained load at server `target` (its schedule from
    `start_ns`); `managed`: that server is the one the dashboard runs."""

    t_ns: int
    run: str
    plan: Plan
    start_ns: int
    target: str
    managed: bool


class RunEnded(NamedTuple):
    """The load control ended a run the generator could not end itself."""

    t_ns: int
    run: str
    reason: str


class TargetDied(NamedTuple):
    """A server load may be sent to (`target`) exited; it was last seen alive at `since_ns`. Its
    runs end failed with `reason` (model/dead_target.py), and the generator stops sending them."""

    t_ns: int
    target: str
    since_ns: int
    reason: str


class ScenePlayed(NamedTuple):
    """A scene fired `run`, to be judged against `predicted`."""

    t_ns: int
    scene: dict
    run: str
    predicted: Prediction
    workers: int


class Ended(NamedTuple):
    """The recording stopped here (its last line): a replay runs to this time. Changes nothing."""

    t_ns: int


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


# -- the recording's JSON form ------------------------------------------------------------------


class BadEvent(ValueError):
    """A recorded line that is not an event of this schema."""


def to_json(event: Event) -> dict[str, Any]:
    """One line of the recording: `{"k": kind, "t": t_ns, ...fields}`."""
    match event:
        case Datagrams():
            return {"k": "datagrams", "t": event.t_ns, "raw": list(event.raw), "bad": list(event.bad)}
        case Sample():
            samples = {
                str(pid): None
                if s is None
                else {"cpu": s.cpu_ns, "threads": {str(tid): list(v) for tid, v in s.threads.items()}}
                for pid, s in event.samples.items()
            }
            return {
                "k": "sample",
                "t": event.t_ns,
                "samples": samples,
                "backlog": event.backlog,
                "kernel_drops": event.kernel_drops,
            }
        case ServerChanged():
            return {
                "k": "server",
                "t": event.t_ns,
                "info": event.info,
                "slots": event.slots,
                "retired": list(event.retired),
            }
        case Launched():
            return {
                "k": "launched",
                "t": event.t_ns,
                "name": event.name,
                "pids": list(event.pids),
                "url": event.url,
            }
        case RunAdded():
            return {"k": "run", "t": event.t_ns, "run": event.run, "endpoint": event.endpoint,
                    "count": event.count, "ms": event.ms, "target": event.target}  # fmt: skip
        case SustainAdded():
            plan = event.plan
            return {"k": "sustain", "t": event.t_ns, "run": event.run, "method": plan.request.method,
                    "path": plan.request.path, "body": plan.request.body, "connections": plan.connections,
                    "seconds": plan.seconds, "mode": plan.mode, "rate": plan.rate, "ramp_s": plan.ramp_s,
                    "start_ns": event.start_ns, "target": event.target, "managed": event.managed}  # fmt: skip
        case RunEnded():
            return {"k": "run_end", "t": event.t_ns, "run": event.run, "reason": event.reason}
        case TargetDied():
            return {"k": "target_died", "t": event.t_ns, "target": event.target, "since_ns": event.since_ns,
                    "reason": event.reason}  # fmt: skip
        case ScenePlayed():
            return {"k": "scene", "t": event.t_ns, "scene": event.scene, "run": event.run,
                    "predicted": event.predicted.view(), "workers": event.workers}  # fmt: skip
        case Ended():
            return {"k": "end", "t": event.t_ns}
    raise TypeError(f"not an event: {type(event).__name__}")


def from_json(line: Any) -> Event:
    """The event a recorded line holds; BadEvent saying what is wrong with it."""
    if not isinstance(line, dict) or not isinstance(line.get("t"), int):
        raise BadEvent('an event is an object with "k" and an integer "t"')
    kind, t = line.get("k"), line["t"]
    try:
        match kind:
            case "datagrams":
                raw = tuple(line["raw"])
                decoded = tuple(decode(text.encode("utf-8", "surrogateescape")) for text in raw)
                return Datagrams(t, decoded, raw, tuple(line["bad"]))
            case "sample":
                samples = {
                    int(pid): None
                    if s is None
                    else ProcessSample(
                        int(s["cpu"]), {int(tid): (int(v[0]), int(v[1])) for tid, v in s["threads"].items()}
                    )
                    for pid, s in line["samples"].items()
                }
                return Sample(t, samples, line["backlog"], line["kernel_drops"])
            case "server":
                return ServerChanged(t, dict(line["info"]), line["slots"], tuple(line["retired"]))
            case "launched":
                url = line["url"]
                if url is not None and not isinstance(url, str):
                    raise TypeError("url must be a string or null")
                return Launched(t, str(line["name"]), tuple(int(pid) for pid in line["pids"]), url)
            case "run":
                run, endpoint, target = str(line["run"]), str(line["endpoint"]), line.get("target")
                if target is not None and not isinstance(target, str):
                    raise TypeError("target must be a string or null")
                return RunAdded(t, run, endpoint, int(line["count"]), int(line["ms"]), target)
            case "sustain":
                request = HttpRequest(str(line["method"]), str(line["path"]), str(line["body"]))
                plan = Plan(request, line["connections"], line["seconds"], str(line["mode"]), line["rate"],
                            line["ramp_s"]).checked()  # fmt: skip
                target, managed = str(line["target"]), bool(line["managed"])
                return SustainAdded(t, str(line["run"]), plan, int(line["start_ns"]), target, managed)
            case "run_end":
                return RunEnded(t, str(line["run"]), str(line["reason"]))
            case "target_died":
                target, since_ns, reason = line["target"], line["since_ns"], line["reason"]
                if not (isinstance(target, str) and type(since_ns) is int and isinstance(reason, str)):
                    raise TypeError("target and reason must be strings, since_ns an integer")
                return TargetDied(t, target, since_ns, reason)
            case "scene":
                predicted = Prediction(**line["predicted"])
                return ScenePlayed(t, dict(line["scene"]), str(line["run"]), predicted, int(line["workers"]))
            case "end":
                return Ended(t)
    except (ProtocolError, BadLoadRequest) as exc:
        raise BadEvent(f"a recorded datagram or load plan is not valid: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        why = f"{type(exc).__name__}: {exc}"[:120]
        raise BadEvent(f"a {kind!r} event with a missing or bad field ({why})") from None
    raise BadEvent(f"unknown event kind {str(kind)[:40]!r}")
