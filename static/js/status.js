// The header, on every page: the server's mode, size and status, the link's status and the
// "reconnecting" banner.

import { byId, setText } from "./dom.js";
import { plural } from "./format.js";

const CONNECTION_TEXT = {
  connecting: "connecting…",
  connected: "live",
  disconnected: "disconnected",
};

function describeSize(server) {
  const parts = [];
  if (typeof server.workers === "number" && typeof server.threads === "number") {
    parts.push(`${plural(server.workers, "worker")} × ${plural(server.threads, "thread")}`);
  }
  parts.push(
    typeof server.capacity === "number" ? `capacity ${server.capacity}` : "capacity unbounded",
  );
  return parts.join(" · ");
}

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
    const server = store.server;
    if (server) {
      setText(this.mode, server.mode ?? "—");
      setText(this.size, describeSize(server));
      this.serverStatus.dataset.status = server.status ?? "unknown";
      setText(this.serverStatus, `server: ${server.status ?? "unknown"}`);
      const error = server.status === "failed" ? (server.error ?? "no reason given") : "";
      setText(this.serverError, error);
      this.serverError.hidden = error === "";
    }
  }
}
