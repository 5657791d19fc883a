// Server headers in the pools view: each server the dashboard sees (the managed one, one launched
// from the user's command, one attached) gets its own header above its worker panels, with what
// runs, its shape and address, its capacity and its own counters. Two servers are never summed.

import { element, setAttr, setText } from "./dom.js";

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
    this.figures = element("span", "server-figures", this.el);
  }

  update(server) {
    setText(this.title, server.label ?? server.id);
    setText(this.tag, server.managed ? "managed" : server.url ? `at ${server.url}` : "");
    setText(this.figures, serverFigures(server).join(" · "));
    setAttr(this.el, "title", `server ${server.id}: pids ${(server.pids ?? []).join(", ")}`);
  }
}
