// A report (GET /api/report): one HTML file that opens offline, drawn from its bootstrap data
// with the live page's own views. The data is a snapshot of the span: its requests (timeline),
// its per-second points (charts) and the pool's tasks, fed to a Store whose clock is frozen at
// the span's end, so the timeline's window is exactly the span. Plotly is inlined beside this
// module (window.Plotly).

import { Charts } from "./charts.js";
import { CompareTable } from "./compare.js";
import { byId, element, setText } from "./dom.js";
import { formatMs } from "./format.js";
import { RouteColours } from "./routes.js";
import { Store } from "./store.js";
import { Timeline } from "./timeline.js";

const report = JSON.parse(byId("bootstrap").textContent);

setText(byId("report-title"), report.title);
setText(
  byId("report-span"),
  `From ${report.from_wall} to ${report.to_wall} (${formatMs(report.to_ms - report.from_ms)}), ` +
    `made ${report.generated}. Times on the axes count back from the span's end.`,
);
for (const note of report.notes) setText(element("li", null, byId("report-notes")), note);
byId("report-notes").hidden = report.notes.length === 0;

new CompareTable(byId("report-runs")).render({ columns: report.table.columns, runs: report.table.rows });

const store = new Store({ taskKeySeparator: report.task_key_separator, history: report.history });
const at = performance.now();
store.applySnapshot(
  {
    version: 1,
    server: report.server,
    processes: report.processes,
    runs: report.runs,
    spans: report.spans,
    series: report.series,
    now_ms: report.to_ms,
  },
  at,
);
store.freeze(at);

const routes = new RouteColours(); // one colour a route, on the timeline and the charts alike
const timeline = new Timeline(byId("timeline-box"), store, routes, { endLabel: "end" });
timeline.showLegendIn(byId("timeline-legend"));
timeline.buildLanes(); // sizes the box for its lanes before the first draw
new ResizeObserver(() => {
  timeline.resize();
  timeline.draw(at);
}).observe(byId("timeline-box"));

const windowS = Math.max(2, Math.ceil((report.to_ms - report.from_ms) / 1000) + 1);
const charts = new Charts(byId("charts"), store, () => Promise.resolve(window.Plotly), {
  windowS,
  routes,
  only: ["throughput", "concurrency", "latency", "latency-route", "cpu-process"], // no live tasks to sample CPU from
});
charts.setVisible(true);
