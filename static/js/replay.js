// Recording and replay on the laptop page. In a replay (the bootstrap's source), a badge names
// the recording's date and host, with pause/play, speed and a seek bar, and every control that
// needs a live server ([data-live-only]) is hidden. Live, the presenter records and downloads.

import { byId, setText } from "./dom.js";

const POLL_MS = 500;

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Marks a page as a replay: hides every control that needs a live server ([data-live-only])
 * and names the recording's date and host in its badge (#replay-badge). */
export function markReplay(status) {
  document.querySelectorAll("[data-live-only]").forEach((el) => {
    el.hidden = true;
  });
  const badge = byId("replay-badge");
  setText(badge, `replay · ${new Date(status.started_wall * 1000).toLocaleString()} · ${status.host}`);
  badge.hidden = false;
}

export class ReplayBar {
  /** @param {import("./api.js").Api} api */
  constructor(api) {
    this.api = api;
    this.status = null;
    this.seeking = false;
    this.bar = byId("replay-bar");
    this.play = byId("replay-play");
    this.speed = byId("replay-speed");
    this.seek = byId("replay-seek");
    this.play.addEventListener("click", () => this.send({ paused: !this.status.paused }));
    this.speed.addEventListener("change", () => this.send({ speed: Number(this.speed.value) }));
    this.seek.addEventListener("input", () => {
      this.seeking = true;
      setText(byId("replay-position"), `${clock(this.seek.value)} / ${clock(this.status.length_s)}`);
    });
    this.seek.addEventListener("change", () => {
      this.seeking = false;
      this.send({ at_s: Number(this.seek.value) });
    });
  }

  /** True when this dashboard replays a recording (then the bar shows and polls). A live page
   * asks nothing: GET /api/replay answers it 409, an error in the console.
   * @param {string} source the bootstrap's `source`: "live" or "replay" */
  async start(source) {
    if (source !== "replay") return false;
    const reply = await this.api.get("/api/replay");
    if (!reply.ok) return false;
    markReplay(reply.body);
    this.bar.hidden = false;
    this.render(reply.body);
    setInterval(async () => {
      const again = await this.api.get("/api/replay");
      if (again.ok) this.render(again.body);
    }, POLL_MS);
    return true;
  }

  async send(change) {
    const reply = await this.api.post("/api/replay", change);
    if (reply.ok) this.render(reply.body);
    else setText(byId("replay-message"), reply.error);
  }

  render(status) {
    this.status = status;
    setText(this.play, status.paused ? "▶ Play" : "❚❚ Pause");
    this.speed.value = String(status.speed);
    this.seek.max = String(status.length_s);
    if (!this.seeking) {
      this.seek.value = String(status.at_s);
      setText(byId("replay-position"), `${clock(status.at_s)} / ${clock(status.length_s)}`);
    }
    setText(byId("replay-message"), status.warning ?? "");
  }
}

export class RecordingControls {
  /** @param {import("./api.js").Api} api */
  constructor(api) {
    this.api = api;
    this.toggle = byId("recording-toggle");
    this.download = byId("recording-download");
    this.toggle.addEventListener("click", () => this.flip());
    this.download.addEventListener("click", () => this.save());
  }

  async refresh() {
    const reply = await this.api.get("/api/recording");
    if (reply.ok) this.render(reply.body);
  }

  async flip() {
    const recording = this.toggle.dataset.recording === "true";
    const reply = await this.api.post("/api/recording", { action: recording ? "stop" : "start" });
    if (reply.ok) this.render(reply.body);
    else setText(byId("recording-status"), reply.error);
  }

  render(status) {
    this.toggle.dataset.recording = String(status.recording);
    setText(this.toggle, status.recording ? "■ Stop recording" : "● Record");
    const size = status.bytes === undefined ? "" : ` ${(status.bytes / 1e6).toFixed(1)} MB`;
    const drops = status.dropped ? `, ${status.dropped} events dropped` : "";
    const why = status.stopped && status.stopped !== "stopped" ? ` (${status.stopped})` : "";
    setText(byId("recording-status"), status.file ? `${status.file}${size}${drops}${why}` : "");
    this.download.hidden = !status.file || status.recording;
    this.name = status.file;
    if (status.recording) setTimeout(() => this.refresh(), 1000);
  }

  /** The file comes with the presenter's token in a header, so it is fetched, not linked. */
  async save() {
    const headers = this.api.token ? { "X-Threadpulse-Token": this.api.token } : {};
    const response = await fetch("/api/recording/file", { headers });
    if (!response.ok) return;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = this.name;
    link.click();
    URL.revokeObjectURL(link.href);
  }
}
