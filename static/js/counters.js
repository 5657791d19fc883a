// The four request counters (queued, in service, done, failed), wherever a page puts them: each
// is a `.counter[data-kind=NAME]` holding a `.counter-value`.

import { setText } from "./dom.js";
import { formatCount } from "./format.js";

export const COUNTERS = ["queued", "in_service", "done", "failed"];

export class CountersView {
  /** @param {HTMLElement} root the element holding the counters */
  constructor(root) {
    this.values = COUNTERS.map((name) => [
      name,
      root.querySelector(`.counter[data-kind="${name}"] .counter-value`),
    ]);
  }

  render(store) {
    for (const [name, el] of this.values) setText(el, formatCount(store.counters?.[name]));
  }
}
