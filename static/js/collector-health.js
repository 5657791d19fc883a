// The footer's collector line: datagrams rejected (by reason), lost on the way (gaps in the
// sequence numbers) and dropped at the source (the agent's bounded buffer was full).
// Nonzero numbers are highlighted: what the page shows may then be incomplete.

import { byId, setAttr, setText } from "./dom.js";

export class CollectorHealthView {
  constructor() {
    this.el = byId("collector-health");
    this.rejected = byId("collector-rejected");
    this.lost = byId("collector-lost");
    this.dropped = byId("collector-dropped");
  }

  render(store) {
    const c = store.collector;
    if (!c) return;
    const reasons = Object.entries(c.rejected ?? {}).filter(([, n]) => n > 0);
    const rejected = reasons.reduce((sum, [, n]) => sum + n, 0);
    setText(
      this.rejected,
      reasons.length ? `${rejected} (${reasons.map(([r, n]) => `${r} ${n}`).join(", ")})` : "0",
    );
    setText(this.lost, String(c.lost ?? 0));
    setText(this.dropped, String(c.dropped ?? 0));
    setAttr(this.rejected, "data-hot", rejected > 0 ? "" : null);
    setAttr(this.lost, "data-hot", c.lost > 0 ? "" : null);
    setAttr(this.dropped, "data-hot", c.dropped > 0 ? "" : null);
    setAttr(this.el, "data-hot", rejected + (c.lost ?? 0) + (c.dropped ?? 0) > 0 ? "" : null);
  }
}
