// Client-side state built from one `snapshot` and the `frame` deltas that follow it
// (docs/live-frames.md). Pure: no DOM, no socket; the connection feeds it, the views read it.

const MAX_RUNS = 20;

function taskKey(pid, id) {
  return `${pid}:${id}`;
}

function processOf(proc) {
  return { pid: String(proc.pid), slots: proc.slots ?? null, status: proc.status };
}

export class Store {
  constructor() {
    this.version = null;
    this.server = null;
    this.processes = new Map(); // pid (string) -> {pid, slots, status}
    this.tasks = new Map(); // "pid:id" -> task, plus its `pid`
    this.counters = null;
    this.runs = new Map(); // run id -> run
    this.nowMs = 0; // dashboard's monotonic clock at the last snapshot/frame
    this.receivedAt = 0; // performance.now() when that arrived
    this.frozenAt = null; // performance.now() when the connection dropped
    this.changed = true; // set on every update, cleared by the renderer
  }

  /** Replaces everything with a snapshot. */
  applySnapshot(snap, receivedAt) {
    this.version = snap.version;
    this.server = snap.server ?? null;
    this.processes = new Map();
    this.tasks = new Map();
    for (const proc of snap.processes ?? []) {
      const process = processOf(proc);
      this.processes.set(process.pid, process);
      for (const task of proc.tasks ?? []) {
        this.tasks.set(taskKey(process.pid, task.id), { ...task, pid: process.pid });
      }
    }
    this.counters = snap.counters ?? null;
    this.runs = new Map();
    this.mergeRuns(snap.runs);
    this.tick(snap.now_ms, receivedAt);
  }

  /**
   * Applies a delta frame if it follows the version held; returns false (changing nothing)
   * when it does not, so the caller can ask for a resync.
   */
  applyFrame(frame, receivedAt) {
    if (this.version === null || frame.base !== this.version) return false;
    this.version = frame.version;
    if (frame.server) this.server = frame.server;
    if (frame.processes) this.replaceProcesses(frame.processes);
    for (const [key, task] of Object.entries(frame.tasks ?? {})) {
      if (task === null) {
        this.tasks.delete(key);
      } else {
        this.tasks.set(key, { ...task, pid: key.slice(0, key.indexOf(":")) });
      }
    }
    if (frame.counters) this.counters = frame.counters;
    this.mergeRuns(frame.runs);
    this.tick(frame.now_ms, receivedAt);
    return true;
  }

  /** The process set changed: keep known processes in place, append new ones. */
  replaceProcesses(list) {
    const incoming = new Map(list.map((proc) => [String(proc.pid), processOf(proc)]));
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
