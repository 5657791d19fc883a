// Inspector: a side panel on one task, opened from its tile. Polls GET /api/tasks/PID/ID every
// 500 ms while open: the request, CPU share, phase, state, time spent in each state, the last
// state changes, how a starved state was inferred, and where the code is (the agent's sampled
// stack). A 404 means the task exited: the panel says "task gone" and stops polling.
// Esc (or the close button) closes it and gives the focus back to the tile.

import { byId, element, setAttr, setText } from "./dom.js";
import { formatMs, formatPct } from "./format.js";
import { WHY_LABEL } from "./pools.js";

const POLL_MS = 500;
const HISTORY_SHOWN = 12;

function describeState(state) {
  const [name, why] = String(state).split(":");
  return why ? `${name} · ${WHY_LABEL[why] ?? why}` : name;
}

export class Inspector {
  /**
   * @param {import("./api.js").Api} api
   * @param {import("./store.js").Store} store
   * @param {(key: string|null) => void} onSelect told which task is shown (null: closed)
   */
  constructor(api, store, onSelect) {
    this.api = api;
    this.store = store;
    this.onSelect = onSelect;
    this.el = byId("inspector");
    this.title = byId("inspector-title");
    this.status = byId("inspector-status");
    this.fields = new Map();
    for (const field of this.el.querySelectorAll("[data-field]")) {
      this.fields.set(field.dataset.field, field);
    }
    this.stateMs = byId("inspector-state-ms");
    this.history = byId("inspector-history");
    this.key = null;
    this.timer = null;
    this.opener = null;
    byId("inspector-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.key !== null) {
        event.preventDefault();
        this.close();
      }
    });
  }

  open(key) {
    const [pid, id] = this.store.splitTaskKey(key);
    this.close(false);
    this.key = key;
    this.opener = document.activeElement;
    this.el.hidden = false;
    this.el.dataset.state = "loading";
    setText(this.title, this.store.tasks.get(key)?.name ?? `task ${id}`);
    setText(this.fields.get("where"), `worker ${pid} · task ${id}`);
    setText(this.status, "loading…");
    this.onSelect(key);
    this.poll(key, pid, id);
  }

  close(restoreFocus = true) {
    if (this.key === null) return;
    this.key = null;
    clearTimeout(this.timer);
    this.el.hidden = true;
    this.onSelect(null);
    if (restoreFocus && this.opener?.isConnected) this.opener.focus();
    this.opener = null;
  }

  async poll(key, pid, id) {
    const { ok, status, body } = await this.api.get(
      `/api/tasks/${encodeURIComponent(pid)}/${encodeURIComponent(id)}`,
    );
    if (this.key !== key) return; // closed, or another task opened meanwhile
    if (status === 404) {
      this.el.dataset.state = "gone";
      setText(this.status, "task gone: it exited, or its worker did");
      return;
    }
    if (ok && body) {
      this.el.dataset.state = "live";
      this.show(body);
      setText(this.status, "live · updated every 0.5 s");
    } else {
      setText(this.status, status === 0 ? "dashboard unreachable, retrying…" : `HTTP ${status}, retrying…`);
    }
    this.timer = setTimeout(() => this.poll(key, pid, id), POLL_MS);
  }

  show(task) {
    const f = (name) => this.fields.get(name);
    setText(this.title, task.name ?? `task ${task.id}`);
    setText(f("where"), `worker ${task.pid} · task ${task.id} · ${task.kind ?? "task"}`);
    const state = task.state === "starved" && task.why ? `${task.state}:${task.why}` : task.state;
    setText(f("state"), describeState(state));
    setAttr(f("state"), "data-state", task.state);
    setText(f("phase"), task.phase ? `${task.phase} (declared by the endpoint)` : "none declared");
    setText(f("cpu"), `${formatPct(task.cpu_pct)} of a core`);
    const req = task.request;
    const route = req?.route && req.route !== req.path ? ` (${req.route})` : "";
    setText(f("request"), req ? `${req.path}${route} · ${req.id}` : "none: idle");
    setText(f("age"), req ? formatMs(req.age_ms) : "—");
    setText(f("explanation"), task.explanation ?? "");
    f("explanation").hidden = !task.explanation;
    setText(f("stack"), task.stack || "(no sample yet)");
    this.showStateMs(task.state_ms ?? {});
    this.showHistory(task.history ?? []);
  }

  showStateMs(stateMs) {
    const entries = Object.entries(stateMs).filter(([, ms]) => ms > 0);
    const total = entries.reduce((sum, [, ms]) => sum + ms, 0) || 1;
    this.stateMs.replaceChildren();
    for (const [state, ms] of entries) {
      const row = element("li", null, this.stateMs);
      const bar = element("span", "state-bar", row);
      bar.dataset.state = state.split(":")[0];
      bar.style.width = `${Math.max(2, (ms / total) * 100)}%`;
      setText(element("span", "state-name", row), describeState(state));
      setText(element("span", "state-ms", row), formatMs(ms));
    }
  }

  showHistory(history) {
    const clock = this.store.clock(performance.now());
    this.history.replaceChildren();
    for (const change of history.slice(-HISTORY_SHOWN).reverse()) {
      const row = element("li", null, this.history);
      setText(element("span", "history-at", row), `${formatMs(clock - change.at_ms)} ago`);
      const state = element("span", "history-state", row);
      state.dataset.state = String(change.state).split(":")[0];
      setText(state, describeState(change.state));
    }
  }
}
