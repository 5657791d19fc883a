// Timeline: one lane per task, one bar per request over the store's span window, scrolling live.
// A bar is coloured by the request's route (routes.js), named in the legend; its queue wait
// (sent -> picked up) is drawn before it, lighter. Requests still in service grow to "now". Drawn
// on a <canvas> each animation frame while visible (SVG shapes get slow near a hundred; a canvas
// draws 2,000 bars in about a millisecond). Time base: the dashboard's clock (`now_ms` of the
// last frame + time since). The canvas carries `data-spans` (bars drawn in the last frame) for
// tests and benchmarks. This module owns the canvas, its size and its loop; the lanes and the
// mapping are timeline-lanes.js, the drawing timeline-draw.js, the legend timeline-legend.js.

import { element, setText } from "./dom.js";
import { formatMs } from "./format.js";
import { RouteColours } from "./routes.js";
import { drawTimeline, readColours } from "./timeline-draw.js";
import { AXIS_H, MAX_LANE_H, buildLanes, layout, requestAt } from "./timeline-lanes.js";
import { TimelineLegend } from "./timeline-legend.js";

const PRUNE_EVERY_MS = 1000;

export class Timeline {
  /**
   * @param {HTMLElement} box the element the canvas fills
   * @param {import("./store.js").Store} store
   * @param {RouteColours} routes the route colours, shared with the charts
   * @param {{endLabel?: string}} options what the window's right end is called ("now" live; a
   *   report's window ends at its span's end)
   */
  constructor(box, store, routes = new RouteColours(), { endLabel = "now" } = {}) {
    this.box = box;
    this.store = store;
    this.endLabel = endLabel;
    this.canvas = element("canvas", "timeline-canvas", box);
    this.canvas.setAttribute("role", "img");
    this.windowS = store.spanWindowMs / 1000;
    this.canvas.setAttribute("aria-label", `Requests per task over the last ${this.windowS} seconds`);
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    this.tip = element("div", "timeline-tip", box);
    this.tip.hidden = true;
    this.visible = false;
    this.running = false;
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
    this.lanes = []; // [{key, label, pid}]
    this.laneOf = new Map(); // task key -> lane index
    this.lanesFor = null; // (store version, spans version) the lanes were built for
    this.sizedFor = null; // the lane count the box's height was set for
    this.map = null; // the layout the last frame was drawn with: hit-testing reads it back
    this.lastPrune = 0;
    this.drawn = -1;
    this.drawMs = 0; // moving average of one draw's main-thread time
    this.drawMsShownAt = 0;
    this.mouse = null; // {x, y} in CSS px, while the pointer is over the canvas
    this.colours = readColours(box);
    this.routes = routes;
    this.legend = new TimelineLegend(routes, this.colours.muted);
    new ResizeObserver(() => this.resize()).observe(box);
    this.canvas.addEventListener("mousemove", (e) => {
      this.mouse = { x: e.offsetX, y: e.offsetY };
      this.hover();
    });
    this.canvas.addEventListener("mouseleave", () => {
      this.mouse = null;
      this.tip.hidden = true;
    });
    this.resize();
  }

  setVisible(visible) {
    this.visible = visible;
    if (visible) {
      this.resize();
      this.start();
    }
  }

  start() {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      if (!this.visible) {
        this.running = false;
        return;
      }
      this.draw(performance.now());
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  resize() {
    const rect = this.box.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.floor(rect.width));
    const height = Math.max(1, Math.floor(rect.height));
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.fontPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  }

  /** Rebuilds the lanes when the store changed, and sizes the box for them. */
  buildLanes() {
    const store = this.store;
    const stamp = `${store.version}/${store.spansVersion}/${store.tasks.size}`;
    if (stamp === this.lanesFor) return;
    this.lanesFor = stamp;
    this.lanes = buildLanes(store);
    this.laneOf = new Map(this.lanes.map((lane, i) => [lane.key, i]));
    if (this.lanes.length !== this.sizedFor) {
      // As tall as the lanes need at full height (CSS bounds it): a 1 x 4 pool takes little
      // room, 256 lanes take half the screen at a pixel or two each.
      this.sizedFor = this.lanes.length;
      this.box.style.height = `${Math.max(1, this.lanes.length) * MAX_LANE_H + AXIS_H}px`;
    }
  }

  draw(now) {
    const t0 = performance.now();
    const store = this.store;
    const clock = store.clock(now);
    const from = clock - store.spanWindowMs;
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      store.pruneSpans(from - 1000);
    }
    this.buildLanes();
    this.map = layout({
      laneCount: this.lanes.length,
      width: this.width,
      height: this.height,
      fontPx: this.fontPx,
      from,
      windowMs: store.spanWindowMs,
    });
    this.ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const { count, otherSeen } = drawTimeline(this.ctx, {
      store,
      lanes: this.lanes,
      laneOf: this.laneOf,
      map: this.map,
      clock,
      routes: this.routes,
      colours: this.colours,
      fontPx: this.fontPx,
      endLabel: this.endLabel,
      windowS: this.windowS,
    });
    this.legend.update(otherSeen);
    if (count !== this.drawn) {
      this.drawn = count;
      this.canvas.dataset.spans = String(count);
    }
    const ms = performance.now() - t0;
    this.drawMs = this.drawMs * 0.95 + ms * 0.05;
    if (now - this.drawMsShownAt > 500) {
      this.drawMsShownAt = now;
      this.canvas.dataset.drawMs = this.drawMs.toFixed(2);
      if (this.mouse) this.hover();
    }
  }

  /** Keep the legend under the timeline in `list`: one swatch per route drawn, and the queue-wait shade. */
  showLegendIn(list) {
    this.legend.showIn(list);
  }

  /** The bar under the pointer, found through the mapping it was drawn with, in a tooltip. */
  hover() {
    const found = this.mouse && this.map && requestAt(this.store, this.lanes, this.map, this.mouse.x, this.mouse.y);
    if (!found) {
      this.tip.hidden = true;
      return;
    }
    setText(
      this.tip,
      [
        found.route === found.path ? found.path : `${found.route}: ${found.path}`,
        `status ${found.status}`,
        `queue wait ${formatMs(found.wait)}`,
        `service ${formatMs(found.service)}`,
        `task ${found.task}`,
      ].join("\n"),
    );
    this.tip.hidden = false;
    const left = Math.min(this.mouse.x + 14, this.width - this.tip.offsetWidth - 4);
    const top = Math.min(this.mouse.y + 14, this.height - this.tip.offsetHeight - 4);
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${Math.max(0, top)}px`;
  }
}
