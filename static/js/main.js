// The laptop dashboard (`/`): pools with the inspector, counters, queues, captions, timeline and
// charts, the load controls and the mode switcher. The timeline draws itself each animation
// frame while shown; the charts redraw when a new per-second point arrives.

import { Api } from "./api.js";
import { CaptionsView } from "./captions.js";
import { Charts } from "./charts.js";
import { CollectorHealthView } from "./collector-health.js";
import { RunsPanel } from "./compare.js";
import { Controls } from "./controls.js";
import { CountersView } from "./counters.js";
import { byId, loadScript } from "./dom.js";
import { Inspector } from "./inspector.js";
import { openStore, startLive } from "./live-page.js";
import { LoadForms } from "./load-forms.js";
import { ModeSwitcher } from "./modes.js";
import { PoolsView } from "./pools.js";
import { PresenterView, takeToken } from "./presenter.js";
import { QueuesView } from "./queues.js";
import { RouteColours } from "./routes.js";
import { RecordingControls, ReplayBar } from "./replay.js";
import { RunResultView } from "./run-result.js";
import { Tabs } from "./tabs.js";
import { Timeline } from "./timeline.js";

const { bootstrap, store } = openStore();
const api = new Api(takeToken());
let pools = null;
let requestPaint = () => {};
const inspector = new Inspector(api, store, (key) => {
  pools.selectedKey = key;
  requestPaint();
});
pools = new PoolsView(byId("pools"), byId("pools-empty"), { onInspect: (key) => inspector.open(key) });
const controls = new Controls(bootstrap, api, new RunResultView(byId("run-result")));
const loadForms = new LoadForms(bootstrap, controls);
const modes = new ModeSwitcher(api, store);
const routes = new RouteColours(); // one colour a route, on the timeline and the charts alike
const timeline = new Timeline(byId("timeline-box"), store, routes);
const charts = new Charts(
  byId("charts"),
  store,
  () => loadScript("/vendor/plotly.min.js").then(() => window.Plotly),
  { routes },
);
timeline.showLegendIn(byId("timeline-legend"));
const runs = new RunsPanel(byId("runs"), api, store);

const presenter = new PresenterView(api, byId("viewer-badge"));
presenter.onChange((readOnly) => {
  controls.setReadOnly(readOnly);
  modes.setReadOnly(readOnly);
});
presenter.check();
new ReplayBar(api).start(bootstrap.source).then((replaying) => {
  if (!replaying) new RecordingControls(api).refresh();
});

new Tabs(byId("view-tabs"), {
  "timeline-panel": timeline,
  "charts-panel": charts,
  "runs-panel": runs,
}).show("timeline-panel");

requestPaint = startLive(store, {
  bootstrap,
  views: [
    new CountersView(byId("counters")),
    new CaptionsView(byId("narration")),
    new QueuesView(),
    new CollectorHealthView(),
    loadForms,
    controls,
    { render: () => modes.render() },
    { render: () => runs.update() },
  ],
  pools,
  onPaint: (now) => charts.update(now),
});
