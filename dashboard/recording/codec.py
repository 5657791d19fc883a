"""The recording's JSON form of the model's events (model/events.py): one object a line,
`{"k": kind, "t": t_ns, ...fields}`, every field checked as it is read (schema.py), so that a bad
line is refused naming its line and field, never a 500 later (docs/recording.md)."""

from __future__ import annotations

from typing import Any, TypedDict, get_type_hints

from dashboard.loadspec.errors import BadLoadRequest
from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.model.events import (
    Datagrams,
    Ended,
    Event,
    Launched,
    RunAdded,
    RunEnded,
    Sample,
    ScenePlayed,
    ServerChanged,
    SustainAdded,
    TargetDied,
)
from dashboard.model.tasks import ProcessSample
from dashboard.model.verdict import Prediction
from dashboard.recording.schema import BadField, check
from threadpulse_agent.protocol import ProtocolError, decode


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
