// Load controls: preset buttons, the custom burst form, the stop button and keyboard
// shortcuts. Each fires POST /api/load; the API is the one validator, so its 400 message is what
// the user sees. The fired run is then followed in the store (every frame that changes a run
// carries it) until it is over, and shown by the run-result view: no request of its own.
// The stage has the preset buttons and keys only: the form, the stop button and the result
// view are used where the page has them.

import { byId, element, isShortcut, setText } from "./dom.js";

const PRESS_FLASH_MS = 200;

function numberOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

export class Controls {
  /**
   * @param {object} bootstrap the page's bootstrap data (endpoints, limits, presets)
   * @param {import("./api.js").Api} api
   * @param {import("./run-result.js").RunResultView | null} resultView
   */
  constructor(bootstrap, api, resultView = null) {
    this.resultView = resultView;
    this.api = api;
    this.readOnly = false;
    this.message = byId("message");
    this.buttons = new Map(); // preset key -> button
    this.runId = null; // the run being followed; a newer one replaces it
    this.runSeen = false; // whether the store has held it (a resync may later drop it)
    this.buildPresets(bootstrap.presets);
    if (byId("burst-form")) this.buildForm(bootstrap);
    byId("stop-load")?.addEventListener("click", () => this.stop());
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  buildPresets(presets) {
    const box = byId("presets");
    for (const preset of presets) {
      const button = element("button", "preset", box);
      button.type = "button";
      button.dataset.preset = preset.key;
      button.setAttribute("aria-keyshortcuts", preset.key);
      setText(element("kbd", null, button), preset.key);
      setText(element("span", null, button), preset.label);
      const burst = { endpoint: preset.endpoint, count: preset.count, ms: preset.ms };
      button.addEventListener("click", () => this.fire(burst));
      this.buttons.set(preset.key, { button, burst });
    }
  }

  buildForm({ endpoints, limits }) {
    const form = byId("burst-form");
    const select = byId("burst-endpoint");
    for (const name of endpoints) {
      const option = element("option", null, select);
      option.value = name;
      option.textContent = name;
    }
    if (endpoints.includes("io")) select.value = "io";
    const count = byId("burst-count");
    const ms = byId("burst-ms");
    // Hints for the spinners only: the form is `novalidate`, the API judges the values.
    [count.min, count.max] = limits.count.map(String);
    [ms.min, ms.max] = limits.ms.map(String);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.fire({ endpoint: select.value, count: numberOrNull(count), ms: numberOrNull(ms) });
    });
  }

  /** A viewer's page: the controls are shown disabled, and the shortcuts do nothing. */
  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    byId("load-fieldset").disabled = readOnly;
  }

  onKey(event) {
    if (this.readOnly || !isShortcut(event)) return;
    const preset = this.buttons.get(event.key);
    if (!preset) return;
    event.preventDefault();
    preset.button.classList.add("pressed");
    setTimeout(() => preset.button.classList.remove("pressed"), PRESS_FLASH_MS);
    this.fire(preset.burst);
  }

  say(text, kind) {
    setText(this.message, text);
    this.message.dataset.kind = kind;
  }

  fire(burst) {
    return this.start("/api/load", burst, `${burst.count} × ${burst.endpoint} ${burst.ms} ms`);
  }

  /** POSTs load to `route` (a burst or sustained load), then follows the run it started. */
  async start(route, payload, what = `${payload.method} ${payload.path}`) {
    this.say(`Starting ${what}…`, "info");
    const { ok, body, error } = await this.api.post(route, payload);
    if (!ok || !body?.run) {
      this.say(error ?? "The dashboard refused the load.", "error");
      return;
    }
    this.say(`Run ${body.run} started: ${what}.`, "ok");
    this.runId = body.run;
    this.runSeen = false;
  }

  async stop() {
    const { ok, body, error } = await this.api.post("/api/load/stop", {});
    if (!ok) {
      this.say(error, "error");
      return;
    }
    const stopped = body?.stopped ?? [];
    this.say(stopped.length ? `Stopped ${stopped.join(", ")}.` : "No load was running.", "info");
  }

  /** Follows the run fired last, as the frames carry it, until it is over.
   * @param {import("./store.js").Store} store */
  render(store) {
    if (this.runId === null) return;
    const runId = this.runId;
    const run = store.runs.get(runId);
    if (!run) {
      // Not yet in a frame (the POST answered first), or dropped from the runs kept.
      if (this.runSeen) {
        this.say(`Run ${runId} is no longer known to the dashboard.`, "error");
        this.runId = null;
      }
      return;
    }
    this.runSeen = true;
    this.resultView?.show(run);
    if (run.state === "running") return;
    this.runId = null;
    if (run.state === "done") this.say(`Run ${runId} done.`, "ok");
    else this.say(`Run ${runId} ended: ${run.reason}.`, "info");
  }
}
