// Wires the page: reads the bootstrap data, builds the views, connects to the dashboard and
// repaints at most once per animation frame: when the state changed, and every frame while
// some request is in service so that its age ticks smoothly between frames.

import { connect } from "./connection.js";
import { Controls } from "./controls.js";
import { byId } from "./dom.js";
import { PoolsView } from "./pools.js";
import { RunResultView } from "./run-result.js";
import { StatusView } from "./status.js";
import { Store } from "./store.js";

const bootstrap = JSON.parse(byId("bootstrap").textContent);
const store = new Store();
const status = new StatusView(bootstrap.version);
const pools = new PoolsView(byId("pools"), byId("pools-empty"));
new Controls(bootstrap, new RunResultView(byId("run-result")));

let frameRequested = false;

function paint() {
  frameRequested = false;
  // performance.now(), not the rAF timestamp: frames are stamped with it on arrival, and the
  // rAF timestamp may predate a frame that arrived just before this paint.
  const now = performance.now();
  if (store.changed) {
    store.changed = false;
    status.render(store);
  }
  pools.render(store, now);
  if (store.isAgeing()) requestPaint();
}

function requestPaint() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(paint);
}

status.setConnection("connecting");
connect(window.io, store, {
  onChange: requestPaint,
  onStatus: (state) => status.setConnection(state),
});
requestPaint();
