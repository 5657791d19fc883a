// Server headers in the pools view: each server the dashboard sees (the managed one, one launched
// from the user's command, one attached) gets its own header above its worker panels, with what
// runs, its shape and address, its capacity and its own counters. Two servers are never summed.

import { byId, element, setAttr, setText } from "./dom.js";

/** The interpreter its agent reports, as the header says it: "Python 3.13.5 · GIL off". */
export function pythonWords(python) {
  if (!python) return "";
  return `Python ${python.version} · GIL ${python.gil ? "on" : "off"}`;
}

/** The starved legend's "no GIL" note, shown while a server on the page runs without one. */
export function showNoGil(servers) {
  const note = byId("no-gil-note");
  if (note) note.hidden = !servers.some((server) => server.python?.gil === false);
}

/** The header's figures of one server entry of the state's `servers`, as words. */
export function serverFigures(server) {
  const c = server.counters ?? {};
  const capacity = server.capacity === null ? "capacity unbounded" : `capacity ${server.capacity}`;
  return [
    capacity,
    `queued ${c.queued ?? 0}`,
    `in service ${c.in_service ?? 0}`,
    `done ${c.done ?? 0}`,
    `failed ${c.failed ?? 0}`,
  ];
}

export class ServerHead {
  constructor(id) {
    this.el = element("header", "server-head", null);
    this.el.dataset.server = id;
    this.title = element("h3", "server-title", this.el);
    this.tag = element("span", "server-tag", this.el);
    this.python = element("span", "server-python", this.el);
    this.figures = element("span", "server-figures", this.el);
  }

  update(server) {
    setText(this.title, server.label ?? server.id);
    setText(this.tag, server.managed ? "managed" : server.url ? `at ${server.url}` : "");
    setText(this.python, pythonWords(server.python));
    setText(this.figures, serverFigures(server).join(" · "));
    setAttr(this.el, "title", `server ${server.id}: pids ${(server.pids ?? []).join(", ")}`);
  }
}
