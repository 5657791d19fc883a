// Queues at every level, in one line: requests sent but not picked up (client side), how many
// of those sit in the kernel's accept backlog of the server's listening socket, and how many
// inside worker processes waiting for a thread (per worker, and their total). Each server's
// entry holds its own queues; the line adds them up (only the managed server has a backlog read).

import { byId, element, setAttr, setText } from "./dom.js";
import { formatCount } from "./format.js";

/** The sum of one figure over the servers that have it; null when none has. */
function total(servers, name) {
  const known = servers.map((server) => server.queues?.[name]).filter((n) => typeof n === "number");
  return known.length > 0 ? known.reduce((a, b) => a + b, 0) : null;
}

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
    const client = store.counters?.queued; // every run's, whether or not its server is known yet
    setText(this.client, formatCount(client));
    mark(this.client, client);
    const backlog = total(store.servers, "accept_backlog");
    setText(this.backlog, formatCount(backlog));
    mark(this.backlog, backlog);
    const inWorkers = total(store.servers, "in_workers");
    setText(this.workers, formatCount(inWorkers));
    mark(this.workers, inWorkers);
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
