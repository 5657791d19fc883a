// Server headers in the pools view: each server the dashboard sees (the managed one, one launched
// from the user's command, one attached) gets its own header above its worker panels, with what
// runs, its shape and address, its capacity and its own counters. Two servers are never summed.

import { byId, element, setAttr, setText } from "./dom.js";
import { serverWords } from "./server-words.js";

/** The starved legend's "no GIL" note, shown while a server on the page runs without one. */
export function showNoGil(servers) {
  const note = byId("no-gil-note");
  if (note) note.hidden = !servers.some((server) => server.python?.gil === false);
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
    const words = serverWords(server);
    setText(this.title, words.title);
    setText(this.tag, words.tag);
    setText(this.python, words.python);
    setText(this.figures, words.figures.join(" · "));
    setAttr(this.el, "title", `server ${server.id}: pids ${(server.pids ?? []).join(", ")}`);
  }
}
