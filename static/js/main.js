// Wires the page: reads the bootstrap data and the presenter token, builds the views, connects
// to the dashboard and repaints at most once per animation frame: when the state changed, and
// every frame while some request is in service so that its age ticks smoothly between frames.
// The timeline draws itself each animation frame while shown; the charts redraw when a new
// per-second point arrives.

import { Api } from "./api.js";
import { Charts } from "./charts.js";
import { CollectorHealthView } from "./collector-health.js";
import { connect } from "./connection.js";
import { Controls } from "./controls.js";
import { byId, loadScript } from "./dom.js";
import { Inspector } from "./inspector.js";
import { ModeSwitcher } from "./modes.js";
import { PoolsView } from "./pools.js";
import { PresenterView, takeToken } from "./presenter.js";
import { QueuesView } from "./queues.js";
import { RunResultView } from "./run-result.js";
import { StatusView } from "./status.js";
import { Store } from "./store.js";
import { Tabs } from "./tabs.js";
import { Timeline, buildTimelineLegend } from "./timeline.js";

const bootstrap = JSON.parse(byId("bootstrap").textContent);
const api = new Api(takeToken());
const store = new Store({
  taskKeySeparator: bootstrap.task_key_separator,
  history: bootstrap.history,
});
const status = new StatusView(bootstrap.version);
const queues = new QueuesView();
const collectorHealth = new CollectorHealthView();
let pools = null;
const inspector = new Inspector(api, store, (key) => {
  pools.selectedKey = key;
  requestPaint();
});
pools = new PoolsView(byId("pools"), byId("pools-empty"), (key) => inspector.open(key));
const controls = new Controls(bootstrap, new RunResultView(byId("run-result")), api);
const modes = new ModeSwitcher(api, store);
const timeline = new Timeline(byId("timeline-box"), store);
const charts = new Charts(byId("charts"), store, () =>
  loadScript("/vendor/plotly.min.js").then(() => window.Plotly),
);
buildTimelineLegend(byId("timeline-legend"));

const presenter = new PresenterView(api, byId("viewer-badge"));
presenter.onChange((readOnly) => {
  controls.setReadOnly(readOnly);
  modes.setReadOnly(readOnly);
});
presenter.check();

new Tabs(byId("view-tabs"), { "timeline-panel": timeline, "charts-panel": charts }).show(
  "timeline-panel",
);

// Between frames only the requests' ages change: the tiles are repainted for that at most
// this often. Every animation frame cost 45 ms of main thread with 256 busy tiles (bench/
// frame_budget.py), and ages shown in 0.1 s steps tick just as visibly.
const AGEING_MS = 100;
let frameRequested = false;
let poolsPaintedAt = -Infinity;

function paint() {
  frameRequested = false;
  // performance.now(), not the rAF timestamp: frames are stamped with it on arrival, and the
  // rAF timestamp may predate a frame that arrived just before this paint.
  const now = performance.now();
  const changed = store.changed;
  if (changed) {
    store.changed = false;
    status.render(store);
    queues.render(store);
    collectorHealth.render(store);
    modes.render();
    charts.update(now);
  }
  if (changed || now - poolsPaintedAt >= AGEING_MS) {
    poolsPaintedAt = now;
    pools.render(store, now);
  }
  if (store.isAgeing()) requestPaint();
}

function requestPaint() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(paint);
}

status.setConnection("connecting");
const hooks = { onChange: requestPaint, onStatus: (state) => status.setConnection(state) };
if (new URLSearchParams(window.location.search).has("demo-load")) {
  // Test and benchmark only: synthetic tasks and spans instead of the dashboard's stream.
  import("./synthetic.js").then(({ feed }) => feed(store, window.location.search, hooks));
} else {
  connect(window.io, store, hooks);
}
requestPaint();
