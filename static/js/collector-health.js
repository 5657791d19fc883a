// The footer's collector line: what the collector refused (whole datagrams, or one event, roster
// entry or tag alone, by reason), datagrams lost on the way (gaps in the sequence numbers),
// events dropped at the source (the agent's bounded buffer was full) and datagrams the kernel
// dropped on the collector's socket (its receive buffer was full; "?" where the kernel does not
// say). Nonzero numbers are highlighted: what the page shows may then be incomplete.

import { byId, setAttr, setText } from "./dom.js";

export class CollectorHealthView {
  constructor() {
    this.el = byId("collector-health");
    this.rejected = byId("collector-rejected");
    this.lost = byId("collector-lost");
    this.dropped = byId("collector-dropped");
    this.kernel = byId("collector-kernel");
  }

  render(store) {
    const c = store.collector;
    if (!c) return;
    const reasons = Object.entries(c.rejected ?? {}).filter(([, n]) => n > 0);
    const rejected = reasons.reduce((sum, [, n]) => sum + n, 0);
    const kernel = c.kernel_dropped ?? 0;
    setText(
      this.rejected,
      reasons.length ? `${rejected} (${reasons.map(([r, n]) => `${r} ${n}`).join(", ")})` : "0",
    );
    setText(this.lost, String(c.lost ?? 0));
    setText(this.dropped, String(c.dropped ?? 0));
    setText(this.kernel, (c.kernel_dropped ?? null) === null ? "?" : String(kernel));
    setAttr(this.rejected, "data-hot", rejected > 0 ? "" : null);
    setAttr(this.lost, "data-hot", c.lost > 0 ? "" : null);
    setAttr(this.dropped, "data-hot", c.dropped > 0 ? "" : null);
    setAttr(this.kernel, "data-hot", kernel > 0 ? "" : null);
    const total = rejected + (c.lost ?? 0) + (c.dropped ?? 0) + kernel;
    setAttr(this.el, "data-hot", total > 0 ? "" : null);
  }
}
