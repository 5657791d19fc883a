// What every page does with the live stream: reads the bootstrap, builds the store, connects to
// the dashboard (or, for tests and benchmarks, a synthetic feed) and repaints at most once per
// animation frame: when the state changed, and every AGEING_MS while some request is in service
// so that its age ticks between frames. A page module composes views and hands them here.

import { connect } from "./connection.js";
import { byId } from "./dom.js";
import { StatusView } from "./status.js";
import { Store } from "./store.js";

// Between frames only the requests' ages change: the tiles are repainted for that at most
// this often. Every animation frame cost 45 ms of main thread with 256 busy tiles (bench/
// frame_budget.py), and ages shown in 0.1 s steps tick just as visibly.
const AGEING_MS = 100;

/** The page's bootstrap data (the one line of JSON in its template) and a store built from it. */
export function openStore() {
  const bootstrap = JSON.parse(byId("bootstrap").textContent);
  const store = new Store({
    taskKeySeparator: bootstrap.task_key_separator,
    history: bootstrap.history,
  });
  return { bootstrap, store };
}

/**
 * Starts the stream and the painting; answers `requestPaint`, for views that change on a click.
 * @param {import("./store.js").Store} store
 * @param {{bootstrap: {version: string, websocket_first: boolean}, views: {render: Function}[],
 *   pools: {render: Function}, onPaint?: (now: number) => void}} page the page's bootstrap data,
 *   views repainted when the state changed (each `render(store)`), the pools view (also
 *   repainted as ages tick), and what else to do then
 */
export function startLive(store, { bootstrap, views, pools, onPaint = () => {} }) {
  const status = new StatusView(bootstrap.version);
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
      for (const view of views) view.render(store);
      onPaint(now);
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
    connect(window.io, store, hooks, { websocketFirst: bootstrap.websocket_first });
  }
  requestPaint();
  return requestPaint;
}
