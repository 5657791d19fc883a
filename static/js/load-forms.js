// Load at any path of the server: the request form (method, path, JSON body) fires a burst of it,
// and the sustained form keeps that same request going over N connections for T seconds, closed
// loop or at a fixed rate, with a ramp. With several servers load may go to (the demo server and
// the user's own), a selector names one; with one, the API's default is it. The API is the one validator: its 400 or 409 message is
// what the user sees; the page only parses the body's JSON text, since it must send a JSON value.

import { byId, element } from "./dom.js";

function numberOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

export class LoadForms {
  /**
   * @param {object} bootstrap the page's bootstrap data (methods, limits)
   * @param {import("./controls.js").Controls} controls who fires, says and follows the run
   */
  constructor({ methods, limits }, controls) {
    this.controls = controls;
    this.method = byId("request-method");
    for (const name of methods) {
      const option = element("option", null, this.method);
      option.value = name;
      option.textContent = name;
    }
    this.server = byId("load-server");
    this.serverLabel = byId("load-server-label");
    this.shownTargets = "";
    this.path = byId("request-path");
    this.body = byId("request-body");
    this.count = byId("request-count");
    this.connections = byId("sustained-connections");
    this.seconds = byId("sustained-seconds");
    this.ramp = byId("sustained-ramp");
    this.mode = byId("sustained-mode");
    this.rate = byId("sustained-rate");
    // Hints for the spinners only: the forms are `novalidate`, the API judges the values.
    for (const [input, name] of [
      [this.count, "count"],
      [this.connections, "connections"],
      [this.seconds, "seconds"],
      [this.rate, "rate"],
    ]) {
      [input.min, input.max] = limits[name].map(String);
    }
    this.mode.addEventListener("change", () => {
      this.rate.disabled = this.mode.value !== "rate";
    });
    byId("request-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const request = this.request();
      if (request) this.controls.start("/api/load", { ...request, count: numberOrNull(this.count) });
    });
    byId("sustained-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const request = this.request();
      if (request) this.controls.start("/api/load/sustained", { ...request, ...this.plan() });
    });
  }

  /** Lists the servers load may go to (the state's servers with a `target`), keeping the choice. */
  render(store) {
    const targets = store.servers.filter((server) => server.target);
    const shown = targets.map((server) => `${server.target}\t${server.label ?? server.id}`).join("\n");
    if (shown === this.shownTargets) return;
    this.shownTargets = shown;
    const chosen = this.server.value;
    this.server.replaceChildren();
    for (const server of targets) {
      const option = element("option", null, this.server);
      option.value = server.target;
      option.textContent = server.label ?? server.id;
    }
    if (targets.some((server) => server.target === chosen)) this.server.value = chosen;
    this.serverLabel.hidden = targets.length < 2;
  }

  /** The request both forms send, or null (and a message) when the body is not JSON. */
  request() {
    const request = { method: this.method.value, path: this.path.value.trim() };
    if (!this.serverLabel.hidden && this.server.value) request.server = this.server.value;
    const text = this.body.value.trim();
    if (text === "") return request;
    try {
      return { ...request, body: JSON.parse(text) };
    } catch (error) {
      this.controls.say(`The body is not JSON: ${error.message}`, "error");
      return null;
    }
  }

  plan() {
    const plan = {
      connections: numberOrNull(this.connections),
      seconds: numberOrNull(this.seconds),
      mode: this.mode.value,
      ramp_s: numberOrNull(this.ramp) ?? 0,
    };
    if (plan.mode === "rate") plan.rate = numberOrNull(this.rate);
    return plan;
  }
}
