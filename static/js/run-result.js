// The last fired run's figures, as GET /api/runs/ID reports them. Unknown numbers show as a dash.

import { setText } from "./dom.js";
import { formatCount, formatMs } from "./format.js";

const COUNT_FIELDS = ["sent", "done", "failed", "peak_busy", "throughput_rps", "missed", "late"];
const MS_FIELDS = [
  "makespan_ms",
  ...["latency_ms", "queue_wait_ms"].flatMap((group) =>
    ["p50", "p95", "max"].map((q) => `${group}.${q}`),
  ),
];

function lookup(run, path) {
  return path.split(".").reduce((value, key) => value?.[key], run);
}

export class RunResultView {
  constructor(el) {
    this.el = el;
    this.fields = new Map();
    for (const field of el.querySelectorAll("[data-field]")) {
      this.fields.set(field.dataset.field, field);
    }
    this.report = el.querySelector("[data-report]");
  }

  show(run) {
    this.el.hidden = false;
    this.el.dataset.run = run.id;
    this.el.dataset.state = run.state;
    // A sustained run says its own label (its plan); a burst is count × what, and ms for a preset.
    const what = run.label ?? `${run.count} × ${run.endpoint}${run.ms ? ` ${run.ms} ms` : ""}`;
    setText(this.fields.get("title"), `${run.id} · ${what}`);
    setText(this.fields.get("state"), run.state);
    // The run's report (one HTML file, opens offline), once the run is over.
    this.report.href = `/api/report?run=${encodeURIComponent(run.id)}`;
    this.report.hidden = run.state === "running";
    for (const name of COUNT_FIELDS) setText(this.fields.get(name), formatCount(run[name]));
    for (const name of MS_FIELDS) setText(this.fields.get(name), formatMs(lookup(run, name)));
  }
}
