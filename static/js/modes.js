// Server mode switcher and restart offer. The modes come from GET /api/modes (name, title,
// sentence, params with bounds, capacity formula); the form shows the chosen mode's sentence and
// what its capacity would be, as the mode computes it (GET /api/modes/NAME/capacity: the page
// never multiplies parameters), beside the running server's live figures. POST /api/server
// switches (it answers once the new server serves, or 400/502 with an error, shown as is).
// When the server has failed, a Restart button starts it again with its mode and params.

import { byId, element, setText } from "./dom.js";
import { formatCount } from "./format.js";
import { serverWords } from "./server-words.js";

const RETRY_MS = 2000;

export class ModeSwitcher {
  /**
   * @param {import("./api.js").Api} api
   * @param {import("./store.js").Store} store
   */
  constructor(api, store) {
    this.api = api;
    this.store = store;
    this.modes = new Map();
    this.form = byId("mode-form");
    this.fieldset = byId("mode-fieldset");
    this.select = byId("mode-select");
    this.params = byId("mode-params");
    this.sentence = byId("mode-sentence");
    this.capacity = byId("mode-capacity");
    this.live = byId("mode-live");
    this.message = byId("mode-message");
    this.restartButton = byId("server-restart");
    this.inputs = new Map(); // param name -> input
    this.dirty = false; // the user edited the form: live updates must not overwrite it
    this.busy = false;
    this.readOnly = false;
    this.shownServer = null; // "mode {params}" the form was last filled from
    this.capacityAsked = 0; // numbers the capacity questions: only the latest answer is shown
    this.select.addEventListener("change", () => {
      this.dirty = true;
      this.buildParams(null);
      this.describe();
    });
    this.params.addEventListener("input", () => {
      this.dirty = true;
      this.describe();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.switchTo(this.select.value, this.values());
    });
    this.restartButton.addEventListener("click", () => {
      const server = this.store.managedServer();
      if (server?.mode) this.switchTo(server.mode, server.params ?? {}, "Restarting");
    });
    this.load();
  }

  async load() {
    const { ok, body } = await this.api.get("/api/modes");
    if (!ok || !Array.isArray(body?.modes)) {
      setText(this.sentence, "Server modes unavailable; retrying…");
      setTimeout(() => this.load(), RETRY_MS);
      return;
    }
    this.modes = new Map(body.modes.map((mode) => [mode.name, mode]));
    this.select.replaceChildren();
    for (const mode of this.modes.values()) {
      const option = element("option", null, this.select);
      option.value = mode.name;
      option.textContent = mode.title ?? mode.name;
    }
    this.shownServer = null;
    this.render();
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.updateDisabled();
  }

  updateDisabled() {
    this.fieldset.disabled = this.readOnly || this.busy || this.modes.size === 0;
    this.restartButton.disabled = this.readOnly || this.busy;
  }

  /** Fills the form from the running server unless the user is editing it; live figures. */
  render() {
    const server = this.store.managedServer();
    this.restartButton.hidden = server?.status !== "failed";
    if (server && this.modes.has(server.mode)) {
      const stamp = `${server.mode} ${JSON.stringify(server.params ?? {})}`;
      if (!this.dirty && !this.busy && stamp !== this.shownServer) {
        this.shownServer = stamp;
        this.select.value = server.mode;
        this.buildParams(server.params ?? {});
        this.describe();
      }
    }
    this.renderLive();
    this.updateDisabled();
  }

  renderLive() {
    const server = this.store.managedServer();
    if (!server) return;
    const counters = server.counters ?? {};
    const words = serverWords(server);
    setText(
      this.live,
      `now: ${words.mode} · ${words.capacity} · in service ${formatCount(counters.in_service)}` +
        ` · queued ${formatCount(counters.queued)}`,
    );
  }

  buildParams(values) {
    const mode = this.modes.get(this.select.value);
    this.params.replaceChildren();
    this.inputs = new Map();
    for (const param of mode?.params ?? []) {
      const label = element("label", null, this.params);
      label.append(param.title ?? param.name);
      const input = element("input", null, label);
      input.type = "number";
      input.inputMode = "numeric";
      input.name = param.name;
      input.dataset.param = param.name;
      if (param.min !== undefined) input.min = String(param.min);
      if (param.max !== undefined) input.max = String(param.max);
      input.value = String(values?.[param.name] ?? param.default ?? "");
      this.inputs.set(param.name, input);
    }
  }

  values() {
    const out = {};
    for (const [name, input] of this.inputs) {
      const text = input.value.trim();
      out[name] = text === "" ? null : Number(text);
    }
    return out;
  }

  describe() {
    const mode = this.modes.get(this.select.value);
    if (!mode) return;
    // A mode installed on first choice (uWSGI) says so, and what it costs.
    setText(this.sentence, [mode.sentence, mode.install].filter(Boolean).join(" "));
    this.showCapacity(mode);
  }

  /** Asks the mode what the form's values would give; the fields go as typed, so an answer of
   * 400 says what is wrong with them before any switch. */
  async showCapacity(mode) {
    const asked = ++this.capacityAsked;
    const query = new URLSearchParams();
    for (const [name, input] of this.inputs) query.set(name, input.value.trim());
    const path = `/api/modes/${encodeURIComponent(mode.name)}/capacity?${query}`;
    const { ok, body } = await this.api.get(path);
    if (asked !== this.capacityAsked) return; // the form changed while this was asked
    if (!ok) {
      setText(this.capacity, `capacity: ? (${body?.error ?? "the dashboard did not answer"})`);
    } else if (body.capacity === null) {
      setText(this.capacity, "capacity: unbounded");
    } else {
      setText(this.capacity, `capacity: ${body.capacity} (${mode.capacity_formula})`);
    }
  }

  say(text, kind) {
    setText(this.message, text);
    this.message.dataset.kind = kind;
  }

  async switchTo(mode, params, verb = "Switching to") {
    if (this.busy) return;
    this.busy = true;
    this.updateDisabled();
    this.say(`${verb} ${mode}… (the new server must start before it answers)`, "info");
    const { ok, body, error } = await this.api.post("/api/server", { mode, ...params });
    this.busy = false;
    if (ok) {
      this.dirty = false;
      this.shownServer = null;
      const cap = typeof body?.capacity === "number" ? body.capacity : "unbounded";
      this.say(`Now serving: ${body?.mode ?? mode}, capacity ${cap}.`, "ok");
    } else {
      this.say(error ?? "The switch failed.", "error");
    }
    this.render();
  }
}
