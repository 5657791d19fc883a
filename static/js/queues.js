// Queues at every level, in one line: requests sent but not picked up (client side), how many
// of those sit in the kernel's accept backlog of the server's listening socket, and how many
// inside worker processes waiting for a thread (per worker, and their total).

import { byId, element, setAttr, setText } from "./dom.js";
import { formatCount } from "./format.js";

function mark(el, value) {
  setAttr(el, "data-hot", typeof value === "number" && value > 0 ? "" : null);
}

export class QueuesView {
  constructor() {
    this.client = byId("queue-client");
    this.backlog = byId("queue-backlog");
    this.workers = byId("queue-workers");
    this.perWorker = byId("queue-per-worker");
    this.chips = new Map(); // pid -> chip
  }

  render(store) {
    const queues = store.queues ?? {};
    const client = queues.client ?? store.counters?.queued;
    setText(this.client, formatCount(client));
    mark(this.client, client);
    setText(this.backlog, formatCount(queues.accept_backlog));
    mark(this.backlog, queues.accept_backlog);
    const total = queues.in_workers;
    setText(this.workers, formatCount(total));
    mark(this.workers, total);
    this.renderPerWorker(store);
  }

  renderPerWorker(store) {
    const seen = new Set();
    for (const proc of store.processes.values()) {
      if (proc.queue === null || proc.status !== "alive") continue;
      seen.add(proc.pid);
      let chip = this.chips.get(proc.pid);
      if (!chip) {
        chip = element("span", "queue-chip", this.perWorker);
        this.chips.set(proc.pid, chip);
      }
      setText(chip, `${proc.pid}: ${proc.queue}`);
      mark(chip, proc.queue);
    }
    for (const [pid, chip] of this.chips) {
      if (!seen.has(pid)) {
        chip.remove();
        this.chips.delete(pid);
      }
    }
  }
}
