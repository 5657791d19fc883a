// Pools view: one panel per worker process, one tile per slot. A process's `slots` tiles are
// drawn before any request; a task that appears takes the first free tile and keeps it until
// it is removed, so tiles do not jump around between frames. Extra tiles are added when a
// process has more tasks than slots (or unbounded slots).

import { element, setAttr, setText } from "./dom.js";
import { formatAge, plural } from "./format.js";

function makeTile(parent) {
  const el = element("div", "tile", parent);
  const state = element("span", "tile-state", el);
  const path = element("span", "tile-path", el);
  const age = element("span", "tile-age", el);
  const foot = element("span", "tile-foot", el);
  return {
    el,
    key: null,
    state,
    path,
    age,
    name: element("span", "tile-name", foot),
    cpu: element("span", "tile-cpu", foot),
  };
}

function paintTile(tile, task, clock) {
  const state = task ? task.state : "idle";
  const request = task?.request ?? null;
  setAttr(tile.el, "data-state", state);
  setAttr(tile.el, "data-empty", task ? null : "");
  setText(tile.state, task ? state : "free");
  setText(tile.path, request?.path ?? "");
  let age = "";
  if (request) {
    age = formatAge(
      typeof request.started_ms === "number" ? clock - request.started_ms : request.age_ms,
    );
  }
  setText(tile.age, age);
  const cpu = request && typeof task.cpu_pct === "number" ? `cpu ${Math.round(task.cpu_pct)}%` : "";
  setText(tile.cpu, cpu);
  setText(tile.name, task?.name ?? "");
  setAttr(tile.el, "title", request ? `request ${request.id} on ${task.name ?? task.id}` : null);
}

class ProcessPanel {
  constructor(pid, parent) {
    this.el = element("section", "process", parent);
    this.el.dataset.pid = pid;
    const head = element("header", "process-head", this.el);
    setText(element("h3", "process-title", head), `worker ${pid}`);
    this.slotsLabel = element("span", "process-slots", head);
    this.statusLabel = element("span", "process-status", head);
    this.grid = element("div", "tiles", this.el);
    this.tiles = [];
    this.byKey = new Map(); // task key -> tile
  }

  update(proc, tasks, clock) {
    setText(
      this.slotsLabel,
      proc.slots === null ? "unbounded: a thread per request" : plural(proc.slots, "slot"),
    );
    setText(this.statusLabel, proc.status && proc.status !== "alive" ? proc.status : "");
    this.el.dataset.status = proc.status ?? "";
    this.assign(tasks, proc.slots ?? 0);
    for (const tile of this.tiles) {
      paintTile(tile, tile.key === null ? null : tasks.get(tile.key), clock);
    }
  }

  /** Frees the tiles of removed tasks, seats new tasks, keeps `slots` tiles at least. */
  assign(tasks, slots) {
    for (const [key, tile] of this.byKey) {
      if (!tasks.has(key)) {
        tile.key = null;
        this.byKey.delete(key);
      }
    }
    for (const key of tasks.keys()) {
      if (this.byKey.has(key)) continue;
      const tile = this.tiles.find((t) => t.key === null) ?? this.addTile();
      tile.key = key;
      this.byKey.set(key, tile);
    }
    while (this.tiles.length < slots) this.addTile();
    while (this.tiles.length > slots && this.tiles.at(-1).key === null) {
      this.tiles.pop().el.remove();
    }
  }

  addTile() {
    const tile = makeTile(this.grid);
    this.tiles.push(tile);
    return tile;
  }
}

export class PoolsView {
  constructor(container, emptyNote) {
    this.container = container;
    this.emptyNote = emptyNote;
    this.panels = new Map(); // pid -> ProcessPanel
  }

  render(store, now) {
    const clock = store.clock(now);
    for (const [pid, panel] of this.panels) {
      if (!store.processes.has(pid)) {
        panel.el.remove();
        this.panels.delete(pid);
      }
    }
    for (const proc of store.processes.values()) {
      let panel = this.panels.get(proc.pid);
      if (!panel) {
        panel = new ProcessPanel(proc.pid, this.container);
        this.panels.set(proc.pid, panel);
      }
      panel.update(proc, store.tasksOf(proc.pid), clock);
    }
    this.emptyNote.hidden = this.panels.size > 0;
  }
}
