"""Where a click's time goes, stage by stage, on the host's one monotonic clock.

The dashboard records every event it folds (`--record`, docs/recording.md): the burst the API
registered (`run`, stamped in the request handler), the generator's `sent`, the agent's `begin`
and the datagram's own send time `t`, and the time the collector took in the batch. The page adds
the rest from inside Chromium: the click, the API's answer, each frame's arrival (a wrapped
WebSocket, installed before the page's scripts) with the time the broadcaster cut it (`now_ms`),
and the moment the tile turned busy. Page times are tied to the host clock by reading both.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from bench.common import median, percentile

# Installed before the page's own scripts: stamps every Socket.IO frame as it arrives, and the
# load API's call and answer, on the page's wall clock.
STAMPS = """(() => {
  const wall = () => performance.timeOrigin + performance.now();
  window.__frames = [];
  window.__api = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        const frame = typeof e.data === "string" && e.data.startsWith('42["frame"');
        if (frame) window.__frames.push([wall(), e.data]);
      });
    }
  };
  const nativeFetch = window.fetch;
  window.fetch = async (...args) => {
    const sent = wall();
    const reply = await nativeFetch(...args);
    if (String(args[0]).includes("/api/load")) window.__api.push([sent, wall()]);
    return reply;
  };
})();"""

# Stage name, and the two stamps it lies between.
STAGES = (
    ("page → API handler (click, fetch, HTTP, Flask)", "click", "run"),
    ("API → generator sends (pipe, its loop)", "run", "sent"),
    ("sent → server begins (connect, accept, thread, WSGI)", "sent", "begin"),
    ("agent: begin → its datagram", "begin", "flush"),
    ("UDP → collector folds it", "flush", "collected"),
    ("collector → frame cut (broadcaster)", "collected", "cut"),
    ("frame cut → page has it (Socket.IO)", "cut", "arrived"),
    ("page has it → tile drawn (paint)", "arrived", "lit"),
)


def read_recording(path: Path) -> list[dict]:
    """Every event of a recording file, in order (the header dropped)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines][1:]


def _datagrams(events: list[dict]) -> list[tuple[int, dict]]:
    """(time the collector folded it, datagram) for every datagram recorded."""
    return [(e["t"], json.loads(raw)) for e in events if e["k"] == "datagrams" for raw in e["raw"]]


def breakdown(events: list[dict], clicks: list[dict], frames: list[list], to_host_ms) -> list[dict]:
    """Per click, the host-clock time (ms) of each stamp in STAGES.

    `clicks`: the page's {"clicked", "lit"} (page wall ms) in order, one run each, the runs the
    only ones of the recording; `frames`: [arrival (page wall ms), raw Socket.IO message];
    `to_host_ms` turns a page wall time into host monotonic ms.
    """
    runs = [e for e in events if e["k"] == "run"]
    datagrams = _datagrams(events)
    sent: dict[str, float] = {}
    begun: dict[str, tuple[float, float, float]] = {}  # request id -> (begin, flush, collected)
    for collected, d in datagrams:
        for ev in d.get("ev", []):
            if ev[0] == "sent":
                sent[ev[1]] = min(sent.get(ev[1], float("inf")), ev[3] / 1e6)
            elif ev[0] == "begin":
                begun[f"{d['src']['pid']}-{ev[3]}"] = (ev[2] / 1e6, d["t"] / 1e6, collected / 1e6)
    decoded = [(to_host_ms(t), json.loads(raw[2:])[1]) for t, raw in frames]
    out = []
    for click, run in zip(clicks, runs, strict=True):
        at = {"click": to_host_ms(click["clicked"]), "run": run["t"] / 1e6, "lit": to_host_ms(click["lit"])}
        at["sent"] = sent.get(run["run"], float("nan"))
        lighting = next(
            (
                (arrived, frame)
                for arrived, frame in decoded
                if arrived >= at["click"]
                and any(t and t.get("request") for t in frame.get("tasks", {}).values())
            ),
            None,
        )
        if lighting is not None:
            arrived, frame = lighting
            ids = [t["request"]["id"] for t in frame["tasks"].values() if t and t.get("request")]
            first = min((begun[i] for i in ids if i in begun), default=(float("nan"),) * 3)
            at.update(
                arrived=arrived, cut=frame["now_ms"], begin=first[0], flush=first[1], collected=first[2]
            )
        out.append(at)
    return out


def stage_rows(profiles: list[dict]) -> list[list]:
    """One row a stage: its median and p95 (ms) over the clicks, then the whole path's."""
    rows = []
    for name, start, end in STAGES:
        spans = [p[end] - p[start] for p in profiles if start in p and end in p]
        rows.append([name, median(spans), percentile(spans, 95)])
    whole = [p["lit"] - p["click"] for p in profiles]
    rows.append(["**click → lit tile**", median(whole), percentile(whole, 95)])
    return rows
