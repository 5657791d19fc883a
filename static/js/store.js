// Client-side state built from one `snapshot` and the `frame` deltas that follow it
// (docs/live-frames.md). Pure: no DOM, no socket; the connection feeds it, the views read it.
// How to read the history (a span's field order, the span window, the series points kept) comes
// from the dashboard in the page's bootstrap (`history`), said once in dashboard/model/history.py.

const MAX_RUNS = 20;
const MAX_SPANS = 4_000; // the snapshot brings at most 2,000; frames add up to 500 each

// A process as the store keeps it. Its `pid` is the dashboard's name for it, unique across hosts
// (`key`: the pid on the dashboard's own host, PID@HOST on another): two hosts' pid 1 are two.
function processOf(proc) {
  return {
    pid: String(proc.key ?? proc.pid),
    host: proc.host ?? null,
    server: proc.server ?? null,
    slots: proc.slots ?? null,
    status: proc.status,
    queue: proc.queue ?? null,
    cpu_pct: proc.cpu_pct ?? null,
    sampling_cost_pct: proc.sampling_cost_pct ?? null,
    stalled_by: proc.stalled_by ?? null,
  };
}

/**
 * A reader of the dashboard's span arrays, given their field names in order (the bootstrap's
 * `history.span_fields`): it returns a span as the timeline keeps it, with named fields and
 * times on the dashboard's clock (ms), or null for what is not a span.
 */
function spanReader(fields) {
  const at = Object.fromEntries(fields.map((name, index) => [name, index]));
  return (raw) => {
    if (!Array.isArray(raw) || raw.length < fields.length) return null;
    const start = raw[at.start_ms];
    const end = raw[at.end_ms];
    const sent = raw[at.sent_ms];
    if (typeof start !== "number" || typeof end !== "number") return null;
    return {
      seq: raw[at.seq],
      task: String(raw[at.task]),
      start,
      end,
      sent: typeof sent === "number" ? sent : null,
      path: String(raw[at.path] ?? ""),
      status: String(raw[at.status] ?? ""),
      route: String(raw[at.route] ?? raw[at.path] ?? ""),
    };
  };
}

export class Store {
  /**
   * @param {{taskKeySeparator: string, history: object}} bootstrap the page's bootstrap data: how
   * the dashboard names tasks in frames ("pid:id", the pid a process key such as "1@web-2" on
   * another host: a task id is unique only within its process),
   * and how to read its history (span_fields, span_window_ms, series_points)
   */
  constructor({ taskKeySeparator, history }) {
    this.keySeparator = taskKeySeparator;
    this.spanFields = history.span_fields;
    this.spanWindowMs = history.span_window_ms; // the timeline's window
    this.maxSeries = history.series_points;
    this.spanOf = spanReader(this.spanFields);
    this.version = null;
    // Every server seen, the managed one first, each with its own header, counters and queues
    // (the managed one also with its mode, params, status and error).
    this.servers = [];
    this.processes = new Map(); // pid (string) -> {pid, slots, status, queue, cpu_pct, ...}
    this.tasks = new Map(); // task key -> task, plus its `pid`
    this.counters = null; // all servers together (each server's own are in its entry)
    this.collector = null; // {rejected: {reason: n}, lost, dropped, kernel_dropped}
    this.runs = new Map(); // run id -> run
    this.spans = []; // finished requests of the span window, oldest first (by seq)
    this.spansVersion = 0; // bumped when `spans` changes
    this.lastSpanSeq = 0;
    this.series = []; // one point a second, oldest first
    this.seriesVersion = 0; // bumped when a point arrives
    this.captions = []; // live captions from the model: 0-3 short sentences
    this.scene = null; // the scene fired last: {id, title, caption, index, count, run, verdict}
    this.nowMs = 0; // dashboard's monotonic clock at the last snapshot/frame
    this.receivedAt = 0; // performance.now() when that arrived
    this.frozenAt = null; // performance.now() when the connection dropped
    this.changed = true; // set on every update, cleared by the renderer
  }

  /** The server the dashboard runs (its entry with `managed: true`), or null when it runs none. */
  managedServer() {
    return this.servers.find((server) => server.managed) ?? null;
  }

  taskKey(pid, id) {
    return `${pid}${this.keySeparator}${id}`;
  }

  /** [pid, id] of a task key, both as strings: split at the last separator (a host's name, part
   * of a process key on another host, is its agent's to choose). */
  splitTaskKey(key) {
    const at = key.lastIndexOf(this.keySeparator);
    return [key.slice(0, at), key.slice(at + this.keySeparator.length)];
  }

  /** Replaces everything with a snapshot. */
  applySnapshot(snap, receivedAt) {
    this.version = snap.version;
    this.servers = snap.servers ?? [];
    this.processes = new Map();
    this.tasks = new Map();
    for (const proc of snap.processes ?? []) {
      const process = processOf(proc);
      this.processes.set(process.pid, process);
      for (const task of proc.tasks ?? []) {
        this.tasks.set(this.taskKey(process.pid, task.id), { ...task, pid: process.pid });
      }
    }
    this.counters = snap.counters ?? null;
    this.collector = snap.collector ?? null;
    this.runs = new Map();
    this.mergeRuns(snap.runs);
    this.spans = [];
    this.lastSpanSeq = 0;
    this.addSpans(snap.spans);
    this.series = [];
    this.addSeries(snap.series);
    this.seriesVersion += 1;
    this.captions = [];
    this.scene = null;
    this.takeNarration(snap);
    this.tick(snap.now_ms, receivedAt);
  }

  /**
   * True when `frame` is ahead of the version held, so frames in between were missed; false for
   * a frame cut before the snapshot held (or before the first one arrives): it is stale, and
   * asking for another full snapshot would only cost the dashboard.
   */
  missed(frame) {
    return this.version !== null && frame.base > this.version;
  }

  /**
   * Applies a delta frame if it follows the version held; returns false (changing nothing)
   * when it does not, so the caller can ask for a resync.
   */
  applyFrame(frame, receivedAt) {
    if (this.version === null || frame.base !== this.version) return false;
    this.version = frame.version;
    if (frame.servers) this.servers = frame.servers;
    if (frame.processes) this.replaceProcesses(frame.processes);
    for (const [key, task] of Object.entries(frame.tasks ?? {})) {
      if (task === null) {
        this.tasks.delete(key);
      } else {
        this.tasks.set(key, { ...task, pid: this.splitTaskKey(key)[0] });
      }
    }
    if (frame.counters) this.counters = frame.counters;
    if (frame.collector) this.collector = frame.collector;
    this.mergeRuns(frame.runs);
    this.addSpans(frame.spans);
    this.addSeries(frame.series);
    this.takeNarration(frame);
    this.tick(frame.now_ms, receivedAt);
    return true;
  }

  /** `captions` and `scene`, when the dashboard sends them (a dashboard without scenes does not). */
  takeNarration(message) {
    if (Array.isArray(message.captions)) {
      this.captions = message.captions.filter((text) => typeof text === "string");
    }
    if ("scene" in message) {
      this.scene = message.scene && typeof message.scene === "object" ? message.scene : null;
    }
  }

  /** The process set changed: keep known processes in place, append new ones. */
  replaceProcesses(list) {
    const incoming = new Map(list.map((proc) => [String(proc.key ?? proc.pid), processOf(proc)]));
    const order = [...this.processes.keys()].filter((pid) => incoming.has(pid));
    for (const pid of incoming.keys()) {
      if (!this.processes.has(pid)) order.push(pid);
    }
    this.processes = new Map(order.map((pid) => [pid, incoming.get(pid)]));
    for (const [key, task] of this.tasks) {
      if (!this.processes.has(task.pid)) this.tasks.delete(key);
    }
  }

  mergeRuns(runs) {
    for (const run of runs ?? []) this.runs.set(run.id, run);
    while (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value);
  }

  /** New finished requests; a span already held (same seq or older) is skipped. */
  addSpans(list) {
    if (!Array.isArray(list) || list.length === 0) return;
    for (const raw of list) {
      const span = this.spanOf(raw);
      if (span === null || span.seq <= this.lastSpanSeq) continue;
      this.lastSpanSeq = span.seq;
      this.spans.push(span);
    }
    if (this.spans.length > MAX_SPANS) this.spans.splice(0, this.spans.length - MAX_SPANS);
    this.spansVersion += 1;
  }

  /** Drops spans that ended before the timeline's window (called by the timeline). */
  pruneSpans(oldestEnd) {
    let cut = 0;
    while (cut < this.spans.length && this.spans[cut].end < oldestEnd) cut += 1;
    if (cut > 0) {
      this.spans.splice(0, cut);
      this.spansVersion += 1;
    }
  }

  addSeries(points) {
    if (!Array.isArray(points) || points.length === 0) return;
    const last = this.series.at(-1)?.seq ?? -Infinity;
    for (const point of points) {
      if (point && typeof point.seq === "number" && point.seq > last) this.series.push(point);
    }
    if (this.series.length > this.maxSeries) this.series.splice(0, this.series.length - this.maxSeries);
    this.seriesVersion += 1;
  }

  tick(nowMs, receivedAt) {
    if (typeof nowMs === "number") {
      this.nowMs = nowMs;
      this.receivedAt = receivedAt;
    }
    this.frozenAt = null;
    this.changed = true;
  }

  /** The connection dropped: stop ageing requests, since nothing new will be known. */
  freeze(at) {
    this.frozenAt = at;
    this.changed = true;
  }

  /** The dashboard's clock now, estimated from the last update and the time since it came. */
  clock(now) {
    const until = this.frozenAt ?? now;
    return this.nowMs + (until - this.receivedAt);
  }

  /** The tasks of one process, key -> task, in the order they first appeared. */
  tasksOf(pid) {
    const out = new Map();
    for (const [key, task] of this.tasks) {
      if (task.pid === pid) out.set(key, task);
    }
    return out;
  }

  /** Whether some request is in service, so ages on screen must keep ticking. */
  isAgeing() {
    if (this.frozenAt !== null) return false;
    for (const task of this.tasks.values()) {
      if (task.request) return true;
    }
    return false;
  }
}
