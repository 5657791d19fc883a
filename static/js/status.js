// The header, on every page: the managed server's mode, size and status (its entry in the state's
// `servers`), the link's status and the "reconnecting" banner.

import { byId, setText } from "./dom.js";
import { serverWords } from "./server-words.js";

// What the header says while the dashboard runs no server of its own (it only watches others).
const NO_SERVER = { mode: "—", size: "", status: "none", error: "" };

const CONNECTION_TEXT = {
  connecting: "connecting…",
  connected: "live",
  disconnected: "disconnected",
};

export class StatusView {
  constructor(version) {
    setText(byId("app-version"), `v${version}`);
    this.mode = byId("server-mode");
    this.size = byId("server-size");
    this.serverStatus = byId("server-status");
    this.serverError = byId("server-error");
    this.connection = byId("connection-status");
    this.banner = byId("offline-banner");
  }

  setConnection(status) {
    this.connection.dataset.status = status;
    setText(this.connection, CONNECTION_TEXT[status] ?? status);
    this.banner.hidden = status !== "disconnected";
    document.body.classList.toggle("offline", status === "disconnected");
  }

  render(store) {
    if (store.version === null) return; // no snapshot yet: nothing known of any server
    const server = store.managedServer();
    const words = server ? serverWords(server) : NO_SERVER;
    setText(this.mode, words.mode);
    setText(this.size, words.size);
    this.serverStatus.dataset.status = words.status;
    setText(this.serverStatus, `server: ${words.status}`);
    setText(this.serverError, words.error);
    this.serverError.hidden = words.error === "";
  }
}
