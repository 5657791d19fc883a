// Pools view: one panel per worker process, one tile per slot. A process's `slots` tiles are
// drawn before any request; a task that appears takes the first free tile and keeps it until
// it is removed, so tiles do not jump around between frames. Extra tiles are added when a
// process has more tasks than slots (or unbounded slots). Green-thread pools may have 1,000
// slots: on the laptop page, past MAX_FREE_TILES the free ones are counted in words rather than
// drawn; the stage and the audience page draw every slot and size the tiles to fit (fit.js).
// On the laptop page a tile with a task opens the inspector on click or Enter.
// A server's panels sit together under its own header (server-heads.js); the fitted pages draw
// headers only when more than one server reports. Servers are grouped by host, each group under a
// host heading once more than one host reports (with one, the page is as it always was).

import { element, setAttr, setText } from "./dom.js";
import { fitTiles } from "./fit.js";
import { formatAge, formatPct, plural } from "./format.js";
import { ServerHead, showNoGil } from "./server-heads.js";

const MAX_FREE_TILES = 32;
const DENSE_TILES = 16; // past this many tiles a panel draws them small

// Why a task is starved, as the tile says it (the legend explains how each is inferred).
export const WHY_LABEL = { gil: "GIL", core: "no free core", hub: "hub blocked" };

function stateLabel(task) {
  if (!task) return "free";
  if (task.state === "starved") {
    const why = WHY_LABEL[task.why];
    return why ? `starved · ${why}` : "starved";
  }
  return task.state;
}

function makeTile(parent) {
  const el = element("div", "tile", parent);
  const state = element("span", "tile-state", el);
  const line = element("span", "tile-line", el);
  const path = element("span", "tile-path", line);
  const phase = element("span", "tile-phase", line);
  const age = element("span", "tile-age", el);
  const foot = element("span", "tile-foot", el);
  return {
    el,
    key: null,
    state,
    phase,
    path,
    age,
    name: element("span", "tile-name", foot),
    cpu: element("span", "tile-cpu", foot),
  };
}

function paintTile(tile, task, clock, selected, inspectable) {
  const state = task ? task.state : "idle";
  const request = task?.request ?? null;
  setAttr(tile.el, "data-state", state);
  setAttr(tile.el, "data-why", task?.state === "starved" && task.why ? task.why : null);
  setAttr(tile.el, "data-empty", task ? null : "");
  setAttr(tile.el, "data-key", tile.key);
  const chosen = Boolean(task) && inspectable;
  setAttr(tile.el, "tabindex", chosen ? "0" : null);
  setAttr(tile.el, "role", chosen ? "button" : null);
  setAttr(tile.el, "aria-pressed", chosen ? String(selected) : null);
  setText(tile.state, stateLabel(task));
  setText(tile.phase, request && task.phase ? `${task.phase} phase` : "");
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

function horizontalPadding(el) {
  const style = getComputedStyle(el);
  return parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
}

/** A host's heading above its servers: the name its agents report (`src.host`). */
function hostHead(host) {
  const el = element("h2", "host-head", null);
  el.dataset.host = host;
  setText(el, `host ${host}`);
  return el;
}

class ProcessPanel {
  constructor(pid, parent, { inspectable, fitted }) {
    this.inspectable = inspectable;
    this.maxFreeTiles = fitted ? Infinity : MAX_FREE_TILES;
    this.dense = !fitted; // fitted tiles are sized by fit.css instead
    this.el = element("section", "process", parent);
    this.el.dataset.pid = pid;
    const head = element("header", "process-head", this.el);
    setText(element("h3", "process-title", head), `worker ${pid}`);
    this.slotsLabel = element("span", "process-slots", head);
    this.statusLabel = element("span", "process-status", head);
    const figures = element("span", "process-figures", head);
    this.cpu = element("span", "figure", figures);
    this.queue = element("span", "figure", figures);
    this.sampling = element("span", "figure figure-minor", figures);
    this.grid = element("div", "tiles", this.el);
    this.more = element("p", "tiles-more", this.el);
    this.tiles = [];
    this.byKey = new Map(); // task key -> tile
  }

  update(proc, tasks, clock, selectedKey) {
    setText(
      this.slotsLabel,
      proc.slots === null ? "unbounded: a task per request" : plural(proc.slots, "slot"),
    );
    setText(this.statusLabel, proc.status && proc.status !== "alive" ? proc.status : "");
    this.el.dataset.status = proc.status ?? "";
    setText(this.cpu, `process CPU ${formatPct(proc.cpu_pct)}`);
    this.cpu.title = "the whole process, percent of one core over the last second";
    setText(this.queue, proc.queue === null ? "no in-worker queue" : `in-worker queue ${proc.queue}`);
    setAttr(this.queue, "data-hot", proc.queue > 0 ? "" : null);
    this.queue.title = "accepted requests waiting inside this worker for a free thread";
    setText(this.sampling, `sampling ${formatPct(proc.sampling_cost_pct, 2)}`);
    this.sampling.title = "what the agent's stack sampling costs this process (percent of a core)";
    const drawn = this.assign(tasks, proc.slots ?? 0);
    setAttr(this.el, "data-dense", this.dense && drawn > DENSE_TILES ? "" : null);
    const notDrawn = (proc.slots ?? 0) - drawn;
    setText(this.more, notDrawn > 0 ? `+ ${plural(notDrawn, "more free slot")} not drawn` : "");
    this.more.hidden = notDrawn <= 0;
    for (const tile of this.tiles) {
      const task = tile.key === null ? null : tasks.get(tile.key);
      paintTile(tile, task, clock, tile.key !== null && tile.key === selectedKey, this.inspectable);
    }
  }

  /** Frees the tiles of removed tasks, seats new tasks, keeps `slots` tiles at least (up to a
   * cap of free ones); answers how many slots the tiles stand for. */
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
    const want = Math.min(slots, this.byKey.size + this.maxFreeTiles);
    while (this.tiles.length < want) this.addTile();
    while (this.tiles.length > want && this.tiles.at(-1).key === null) {
      this.tiles.pop().el.remove();
    }
    return this.tiles.length;
  }

  addTile() {
    const tile = makeTile(this.grid);
    this.tiles.push(tile);
    return tile;
  }
}

export class PoolsView {
  /**
   * @param {HTMLElement} container
   * @param {HTMLElement} emptyNote
   * @param {{onInspect?: (key: string) => void, fit?: () => number}} options `onInspect` is
   *   called with a task key when a tile is chosen (without it tiles are not controls); with
   *   `fit` every slot is drawn and the tiles are sized so that all of them fit in the
   *   container's width and the height `fit()` answers
   */
  constructor(container, emptyNote, { onInspect = null, fit = null } = {}) {
    this.container = container;
    this.emptyNote = emptyNote;
    this.panels = new Map(); // pid -> ProcessPanel
    this.heads = new Map(); // server id -> ServerHead
    this.hostHeads = new Map(); // host -> its heading, while more than one host reports
    this.order = []; // the elements in the container, in the order last placed
    this.selectedKey = null;
    this.fit = fit;
    this.fitted = null; // what the tiles were last sized for
    this.panelOptions = { inspectable: onInspect !== null, fitted: fit !== null };
    if (fit) new ResizeObserver(() => this.fitTiles()).observe(container);
    if (!onInspect) return;
    const choose = (target) => {
      const key = target.closest?.(".tile[data-key][tabindex]")?.dataset.key;
      if (key) onInspect(key);
    };
    container.addEventListener("click", (event) => choose(event.target));
    container.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      if (!event.target.classList?.contains("tile")) return;
      event.preventDefault();
      choose(event.target);
    });
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
        panel = new ProcessPanel(proc.pid, this.container, this.panelOptions);
        this.panels.set(proc.pid, panel);
      }
      panel.update(proc, store.tasksOf(proc.pid), clock, this.selectedKey);
    }
    this.placeByServer(store);
    this.emptyNote.hidden = this.panels.size > 0;
    if (this.fit) this.fitTiles();
  }

  /** Each server's header, then its panels; the DOM is touched only when that order changes. */
  placeByServer(store) {
    const servers = new Map(store.servers.map((server) => [server.id, server]));
    // A managed server with no process yet (starting, failed) has an entry but nothing to head.
    const shown = store.servers.filter((server) => server.pids?.length > 0).length;
    const headed = shown > 1 || this.fit === null;
    showNoGil(store.servers);
    for (const [id, head] of this.heads) {
      if (!headed || !servers.has(id)) {
        head.el.remove();
        this.heads.delete(id);
      }
    }
    const hosts = new Map(); // host -> server id -> panels, in the store's order
    for (const proc of store.processes.values()) {
      const host = proc.host ?? "";
      if (!hosts.has(host)) hosts.set(host, new Map());
      const groups = hosts.get(host);
      const key = proc.server ?? "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(this.panels.get(proc.pid).el);
    }
    const hostHeaded = hosts.size > 1;
    for (const [host, el] of this.hostHeads) {
      if (!hostHeaded || !hosts.has(host)) {
        el.remove();
        this.hostHeads.delete(host);
      }
    }
    const order = [];
    for (const [host, groups] of hosts) {
      if (hostHeaded) {
        if (!this.hostHeads.has(host)) this.hostHeads.set(host, hostHead(host));
        order.push(this.hostHeads.get(host));
      }
      for (const [id, panels] of groups) {
        const server = servers.get(id);
        if (headed && server) {
          if (!this.heads.has(id)) this.heads.set(id, new ServerHead(id));
          const head = this.heads.get(id);
          head.update(server);
          order.push(head.el);
        }
        order.push(...panels);
      }
    }
    if (order.length === this.order.length && order.every((el, i) => el === this.order[i])) return;
    this.container.append(...order);
    this.order = order;
  }

  /** Sizes the tiles (CSS variables on the container) when the tile counts or the space changed. */
  fitTiles() {
    const counts = [...this.panels.values()].map((panel) => panel.tiles.length);
    const box = this.container;
    const key = `${counts.join(",")}@${box.clientWidth}x${this.fit()}`;
    if (key === this.fitted || counts.length === 0) return;
    // Twice: a panel's own chrome (its header may wrap) depends on its width.
    for (let pass = 0; pass < 2; pass += 1) {
      const first = this.panels.values().next().value;
      const layout = fitTiles({
        width: box.clientWidth,
        height: this.fit(),
        counts,
        panelGap: parseFloat(getComputedStyle(box).rowGap) || 0,
        tileGap: parseFloat(getComputedStyle(first.grid).rowGap) || 0,
        chromeWidth: first.el.offsetWidth - first.el.clientWidth + horizontalPadding(first.el),
        chromeHeight: first.el.offsetHeight - first.grid.offsetHeight,
      });
      box.style.setProperty("--panel-cols", String(layout.panelCols));
      box.style.setProperty("--tile-cols", String(layout.tileCols));
      box.style.setProperty("--tile-w", `${layout.tileWidth}px`);
      box.style.setProperty("--tile-h", `${layout.tileHeight}px`);
      setAttr(box, "data-tile-size", layout.size);
    }
    this.fitted = key;
  }
}
