// A server in words, for every header that shows one: the status header (the managed server) and
// each server's own header in the pools read the same entry of the state's `servers`
// (docs/live-frames.md) through this, so the two never tell one server two ways.

import { formatCount, plural } from "./format.js";

function capacityWords(server) {
  return typeof server.capacity === "number" ? `capacity ${server.capacity}` : "capacity unbounded";
}

function sizeWords(server) {
  const perWorker =
    typeof server.threads === "number"
      ? plural(server.threads, "thread")
      : typeof server.connections === "number"
        ? plural(server.connections, "connection")
        : null;
  const parts = [];
  if (typeof server.workers === "number" && perWorker) {
    parts.push(`${plural(server.workers, "worker")} × ${perWorker}`);
  }
  parts.push(capacityWords(server));
  return parts.join(" · ");
}

/** The interpreter its agent reports: "Python 3.13.5 · GIL off" ("" before the agent says). */
function pythonWords(python) {
  if (!python) return "";
  return `Python ${python.version} · GIL ${python.gil ? "on" : "off"}`;
}

/**
 * One entry of the state's `servers` as the headers say it: `mode`, `size`, `status` and `error`
 * (the status header; known for the managed server only), `title`, `tag`, `python` and
 * `figures` (its header in the pools), `capacity` (both).
 */
export function serverWords(server) {
  const counters = server.counters ?? {};
  const status = server.status ?? "unknown";
  return {
    mode: server.mode ?? "—",
    size: sizeWords(server),
    capacity: capacityWords(server),
    status,
    error: status === "failed" ? (server.error ?? "no reason given") : "",
    title: server.label ?? server.id,
    tag: server.managed ? "managed" : server.url ? `at ${server.url}` : "",
    python: pythonWords(server.python),
    figures: [
      capacityWords(server),
      `queued ${formatCount(counters.queued ?? 0)}`,
      `in service ${formatCount(counters.in_service ?? 0)}`,
      `done ${formatCount(counters.done ?? 0)}`,
      `failed ${formatCount(counters.failed ?? 0)}`,
    ],
  };
}
