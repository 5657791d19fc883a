// The results table: one row per run, with the columns the API names (GET /api/runs answers
// {columns, runs}; a report carries the same). A click on a header sorts by it, a second click
// the other way. Numbers sort as numbers and run ids by their number (r2 before r10); unknown
// figures, shown as a dash, sort last either way. Used by the page's Runs tab and by reports.

import { element, setAttr, setText } from "./dom.js";

const DASH = "—";

function compareValues(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export class CompareTable {
  /**
   * @param {HTMLElement} box the element the table goes into
   * @param {{reportLink?: (row: object) => string | null}} options a link for a run's own report
   *   (the page's Runs tab; a report has none: it is offline)
   */
  constructor(box, { reportLink = null } = {}) {
    this.reportLink = reportLink;
    this.table = element("table", "compare-table", box);
    this.head = element("thead", null, this.table);
    this.body = element("tbody", null, this.table);
    this.columns = [];
    this.rows = [];
    this.sortKey = null;
    this.descending = false;
  }

  /** @param {{columns: {key: string, title: string}[], runs: object[]}} table */
  render({ columns, runs }) {
    this.rows = runs;
    if (columns.map((c) => c.key).join() !== this.columns.map((c) => c.key).join()) {
      this.columns = columns;
      this.head.replaceChildren();
      const tr = element("tr", null, this.head);
      for (const column of columns) {
        const th = element("th", null, tr);
        th.scope = "col";
        th.dataset.key = column.key;
        const button = element("button", "compare-sort", th);
        button.type = "button";
        setText(button, column.title);
        button.addEventListener("click", () => this.sortBy(column.key));
      }
    }
    this.paint();
  }

  sortBy(key) {
    this.descending = this.sortKey === key ? !this.descending : false;
    this.sortKey = key;
    this.paint();
  }

  sorted() {
    if (this.sortKey === null) return this.rows;
    const key = this.sortKey;
    const sign = this.descending ? -1 : 1;
    return [...this.rows].sort((a, b) => {
      const x = a[key] ?? null;
      const y = b[key] ?? null;
      if (x === null || y === null) return (x === null) - (y === null);
      return sign * compareValues(x, y);
    });
  }

  paint() {
    for (const th of this.head.querySelectorAll("th")) {
      const sort = th.dataset.key !== this.sortKey ? null : this.descending ? "descending" : "ascending";
      setAttr(th, "aria-sort", sort);
    }
    this.body.replaceChildren();
    for (const row of this.sorted()) {
      const tr = element("tr", null, this.body);
      tr.dataset.run = row.run;
      for (const { key } of this.columns) {
        const td = element("td", null, tr);
        td.dataset.key = key;
        const value = row[key];
        const href = key === "run" && this.reportLink ? this.reportLink(row) : null;
        if (href) {
          const link = element("a", null, td);
          link.href = href;
          link.title = `Download a report of run ${value} (one HTML file, opens offline)`;
          setText(link, String(value));
        } else {
          setText(td, value === null || value === undefined ? DASH : String(value));
        }
        if (typeof value === "number") td.classList.add("number");
      }
    }
    if (this.rows.length === 0) {
      const td = element("td", "compare-empty", element("tr", null, this.body));
      td.colSpan = Math.max(1, this.columns.length);
      setText(td, "No runs yet: fire a burst or play a scene.");
    }
  }
}

/**
 * The page's Runs tab: the table of the runs the dashboard keeps, fetched when the tab is shown
 * and again while shown whenever a run starts, ends or gets its verdict.
 */
export class RunsPanel {
  /**
   * @param {HTMLElement} box
   * @param {import("./api.js").Api} api
   * @param {import("./store.js").Store} store
   */
  constructor(box, api, store) {
    this.api = api;
    this.store = store;
    this.visible = false;
    this.fetchedFor = null;
    this.note = element("p", "compare-note", box);
    this.table = new CompareTable(box, {
      reportLink: (row) => `/api/report?run=${encodeURIComponent(row.run)}`,
    });
  }

  setVisible(visible) {
    this.visible = visible;
    this.fetchedFor = null;
    this.update();
  }

  /** Called when the store changed: refetches while shown if some run changed. */
  update() {
    if (!this.visible) return;
    const stamp = [...this.store.runs.values()].map((r) => `${r.id}/${r.state}/${r.verdict}`).join();
    if (stamp === this.fetchedFor) return;
    this.fetchedFor = stamp;
    this.load();
  }

  async load() {
    const reply = await this.api.get("/api/runs");
    if (!reply.ok) {
      setText(this.note, "The runs could not be fetched; they will be when a run changes.");
      this.fetchedFor = null;
      return;
    }
    const { kept, runs } = reply.body;
    setText(this.note, `${runs.length} runs (the dashboard keeps the last ${kept}). Click a header to sort.`);
    this.table.render(reply.body);
  }
}
