// Presenter or viewer. A presenter URL carries `?token=`: the page takes it out of the address
// bar (so it is not shown on a projector or shared by copying the URL), keeps it for this tab
// in sessionStorage, and sends it with every POST. When the dashboard requires a token this
// page lacks, the controls are disabled and a "viewer (read-only)" badge says why.

import { setText } from "./dom.js";

const STORAGE_KEY = "threadpulse.token";
const RECHECK_MS = 10_000;

/** The token from the URL (removed from it) or from this tab's storage; null when none. */
export function takeToken() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given !== null) {
    url.searchParams.delete("token");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
    try {
      sessionStorage.setItem(STORAGE_KEY, given);
    } catch {
      // Storage may be disabled; the token still works until the page is reloaded.
    }
    return given || null;
  }
  try {
    return sessionStorage.getItem(STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export class PresenterView {
  /**
   * @param {import("./api.js").Api} api
   * @param {HTMLElement} badge the "viewer (read-only)" badge
   */
  constructor(api, badge) {
    this.api = api;
    this.badge = badge;
    this.readOnly = false;
    this.listeners = [];
  }

  /** Calls fn(readOnly) now and whenever it changes. */
  onChange(fn) {
    this.listeners.push(fn);
    fn(this.readOnly);
  }

  /** Asks the dashboard whether this page may act; keeps asking now and then (a restart may
   * change the token). Unreachable: keep what is known. */
  async check() {
    const { ok, body } = await this.api.get("/api/health");
    if (ok && body) this.set(Boolean(body.presenter_required) && !body.presenter);
    setTimeout(() => this.check(), RECHECK_MS);
  }

  set(readOnly) {
    if (readOnly === this.readOnly) return;
    this.readOnly = readOnly;
    this.badge.hidden = !readOnly;
    setText(this.badge, "viewer (read-only)");
    document.body.classList.toggle("read-only", readOnly);
    for (const fn of this.listeners) fn(readOnly);
  }
}
