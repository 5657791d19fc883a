"""Every input to the model as an event with its time on the host's monotonic clock.

The model's state is a fold of these, applied one at a time through `Store.apply`, so a recording
of them replays into the same state. Each kind has a constructor (a NamedTuple), a fold onto the
model's existing methods, and a JSON form for the recording (docs/recording.md).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, NamedTuple, Required, TypedDict, get_type_hints

from dashboard.loadgen.errors import BadLoadRequest
from dashboard.loadgen.http_request import HttpRequest
from dashboard.loadgen.limits import MAX_COUNT, MAX_MS
from dashboard.loadgen.plan import Plan
from dashboard.model.dead_target import end_runs_at
from dashboard.model.live import Model, ProcessSample
from dashboard.model.verdict import Prediction
from dashboard.recording.schema import BadField, Between, Checked, Ns, check
from workload.agent.protocol import Datagram, ProtocolError, decode

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


# The largest pool a mode offers, per process and in all (eventlet's pool, gevent's connections).
MAX_SLOTS = 10_000
MAX_CAPACITY = 16 * MAX_SLOTS


class ServerInfo(TypedDict, total=False):
    """The managed server as `GET /api/server` shows it (dashboard/servers/manager.py: info)."""

    mode: str | None
    workers: Annotated[int, Between(1, MAX_SLOTS)] | None
    threads: Annotated[int, Between(1, MAX_SLOTS)] | None
    params: dict[str, Annotated[int, Between(0, MAX_SLOTS)]]
    capacity: Annotated[int, Between(0, MAX_CAPACITY)] | None
    capacity_formula: str | None
    url: str | None
    pids: list[Annotated[int, Between(1, 2**31)]]
    status: Literal["starting", "serving", "stopped", "failed"]
    error: str | None


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
    count: Annotated[int, Between(1, MAX_COUNT)]
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


class SceneHeader(TypedDict, total=False):
    """A scene as frames show the one fired last (dashboard/scenes/scene.py: Scene.header)."""

    id: Required[str]
    title: str
    caption: str
    index: Annotated[int, Between(0, 10_000)]
    count: Annotated[int, Between(1, 10_000)]


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
    """The event a recorded line holds, every field checked against its type (schema.py);
    BadEvent naming the field that is wrong."""
    if not isinstance(line, dict) or type(line.get("t")) is not int:
        raise BadEvent('an event is an object with "k" and an integer "t"')
    kind = line.get("k")
    try:
        event = _event(kind, line["t"], line)
        if event is not None:
            check(event, type(event))
    except (ProtocolError, BadLoadRequest) as exc:
        raise BadEvent(f"a recorded datagram or load plan is not valid: {exc}") from None
    except BadField as exc:  # the line's "t" is the event's t_ns
        raise BadEvent(f"a {kind!r} event's {exc}".replace("event's t_ns ", "event's t ", 1)) from None
    except KeyError as exc:
        raise BadEvent(f"a {kind!r} event has no {str(exc.args[0])[:40]!r} field") from None
    except (TypeError, ValueError, AttributeError, IndexError) as exc:
        why = f"{type(exc).__name__}: {exc}"[:120]
        raise BadEvent(f"a {kind!r} event with a missing or bad field ({why})") from None
    if event is None:
        raise BadEvent(f"unknown event kind {str(kind)[:40]!r}")
    return event


def _event(kind: object, t: int, line: dict) -> Event | None:
    """The event of a line, its fields as read (from_json checks them), lists as tuples."""
    match kind:
        case "datagrams":
            raw, bad = _list(line, "raw"), _list(line, "bad")
            check(raw, tuple[str, ...], "raw")
            decoded = tuple(decode(text.encode("utf-8", "surrogateescape")) for text in raw)
            return Datagrams(t, decoded, raw, bad)
        case "sample":
            check(line["samples"], dict[str, dict | None], "samples")
            samples = {
                _int_key(pid, "samples"): None
                if s is None
                else ProcessSample(s["cpu"], _threads(s["threads"], f"samples.{pid}.threads"))
                for pid, s in line["samples"].items()
            }
            return Sample(t, samples, line["backlog"], line["kernel_drops"])
        case "server":
            return ServerChanged(t, line["info"], line["slots"], _list(line, "retired"))
        case "launched":
            return Launched(t, line["name"], _list(line, "pids"), line["url"])
        case "run":
            return RunAdded(t, line["run"], line["endpoint"], line["count"], line["ms"], line.get("target"))
        case "sustain":
            check(line, _SustainFields)
            request = HttpRequest(line["method"], line["path"], line["body"])
            plan = Plan(request, line["connections"], line["seconds"], line["mode"], line["rate"],
                        line["ramp_s"]).checked()  # fmt: skip
            return SustainAdded(t, line["run"], plan, line["start_ns"], line["target"], line["managed"])
        case "run_end":
            return RunEnded(t, line["run"], line["reason"])
        case "target_died":
            return TargetDied(t, line["target"], line["since_ns"], line["reason"])
        case "scene":
            check(line["predicted"], dict[str, int], "predicted")
            predicted = Prediction(**line["predicted"])
            return ScenePlayed(t, line["scene"], line["run"], predicted, line["workers"])
        case "end":
            return Ended(t)
    return None


# A `sustain` line's plan fields, the plan's and its request's own, checked before they are made
# into a plan (whose constructors would fail on a wrong type with no field named).
_PLAN_FIELDS = {name: hint for cls in (HttpRequest, Plan) for name, hint in get_type_hints(cls).items()}
_SustainFields = TypedDict("_SustainFields", {k: v for k, v in _PLAN_FIELDS.items() if k != "request"})


def _list(line: dict, key: str) -> tuple:
    check(line[key], list, key)
    return tuple(line[key])


def _int_key(text: str, field: str) -> int:
    """A JSON object's key that stands for a pid or a thread id."""
    if not (text.isascii() and text.isdecimal() and len(text) <= 10):
        raise BadField(f"{field}.{text[:20]}", "must be keyed by a process or thread id")
    return int(text)


def _threads(threads: object, field: str) -> dict[int, tuple]:
    check(threads, dict[str, list], field)
    return {_int_key(tid, field): tuple(times) for tid, times in threads.items()}
