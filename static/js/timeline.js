// Timeline: one lane per task, one bar per request over the store's span window, scrolling live. A bar is
// coloured by the request's route (routes.js), named in the legend; its queue wait (sent -> picked up) is drawn before it,
// lighter. Requests still in service grow to "now". Drawn on a <canvas> each animation frame
// while visible (SVG shapes get slow near a hundred; a canvas draws 2,000 bars in about a
// millisecond). Time base: the dashboard's clock (`now_ms` of the last frame + time since).
// The canvas carries `data-spans` (bars drawn in the last frame) for tests and benchmarks.

import { element, setAttr, setText } from "./dom.js";
import { formatMs } from "./format.js";
import { OTHER_INDEX, RouteColours } from "./routes.js";

const WAIT_ALPHA = 0.45;
const AXIS_H = 26; // px, CSS
const MAX_LANE_H = 26;
const LABEL_MIN_LANE_H = 13; // lane names are drawn when lanes are at least this tall
// Axis ticks: the first of these steps that puts at most MAX_TICKS on the window (5 s on the
// live page's 30 s; a report's span may be a second or several minutes).
const TICK_STEPS_MS = [250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000];
const MAX_TICKS = 8;
const PRUNE_EVERY_MS = 1000;

function failed(status) {
  return !/^[23]/.test(status);
}

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
    this.lastPrune = 0;
    this.drawn = -1;
    this.drawMs = 0; // moving average of one draw's main-thread time
    this.drawMsShownAt = 0;
    this.mouse = null; // {x, y} in CSS px, while the pointer is over the canvas
    this.colours = readColours(box);
    this.routes = routes;
    this.legendList = null; // the <ul> the route legend is kept in, if any
    this.legendFor = null; // the route colours' version (and "other" seen) the legend shows
    this.otherSeen = false;
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

  /** Lanes: the store's tasks in pool order, then tasks seen only in spans (gone since). */
  buildLanes() {
    const store = this.store;
    const stamp = `${store.version}/${store.spansVersion}/${store.tasks.size}`;
    if (stamp === this.lanesFor) return;
    this.lanesFor = stamp;
    const lanes = [];
    const seen = new Set();
    const byPid = new Map();
    for (const [key, task] of store.tasks) {
      if (!byPid.has(task.pid)) byPid.set(task.pid, []);
      byPid.get(task.pid).push([key, task]);
    }
    for (const pid of store.processes.keys()) {
      for (const [key, task] of byPid.get(pid) ?? []) {
        lanes.push({ key, pid, label: task.name ?? key });
        seen.add(key);
      }
    }
    const extra = [];
    for (const span of store.spans) {
      if (!seen.has(span.task)) {
        seen.add(span.task);
        extra.push(span.task);
      }
    }
    extra.sort();
    for (const key of extra) {
      lanes.push({ key, pid: store.splitTaskKey(key)[0], label: `${key} (gone)` });
    }
    this.lanes = lanes;
    this.laneOf = new Map(lanes.map((lane, i) => [lane.key, i]));
    if (lanes.length !== this.sizedFor) {
      // As tall as the lanes need at full height (CSS bounds it): a 1 x 4 pool takes little
      // room, 256 lanes take half the screen at a pixel or two each.
      this.sizedFor = lanes.length;
      this.box.style.height = `${Math.max(1, lanes.length) * MAX_LANE_H + AXIS_H}px`;
    }
  }

  geometry() {
    const lanes = Math.max(1, this.lanes.length);
    const plotH = this.height - AXIS_H;
    const laneH = Math.min(MAX_LANE_H, plotH / lanes);
    const labels = laneH >= LABEL_MIN_LANE_H;
    const gutter = labels ? Math.min(14 * this.fontPx * 0.8, this.width * 0.22) : 8;
    return { laneH, labels, gutter, plotW: Math.max(1, this.width - gutter - 8), plotH };
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
    const { laneH, labels, gutter, plotW, plotH } = this.geometry();
    const scale = plotW / store.spanWindowMs;
    const xOf = (t) => gutter + (t - from) * scale;
    const ctx = this.ctx;
    const c = this.colours;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, 0, this.width, this.height);

    // Lane stripes and worker separators.
    ctx.fillStyle = c.stripe;
    if (laneH >= 4) {
      for (let i = 1; i < this.lanes.length; i += 2) ctx.fillRect(gutter, i * laneH, plotW, laneH);
    }
    ctx.fillStyle = c.edge;
    for (let i = 1; i < this.lanes.length; i++) {
      if (this.lanes[i].pid !== this.lanes[i - 1].pid) ctx.fillRect(0, i * laneH - 1, this.width, 2);
    }

    // Bars, batched by colour: queue waits (lighter) first, then service.
    const spans = store.spans;
    const inset = laneH >= 6 ? Math.max(1, laneH * 0.1) : 0;
    // Tall lanes: service in the upper band, queue wait in a lower band of its own, since a
    // request mostly waits while its lane serves another (the pool was full), and would hide.
    const split = laneH >= 8;
    const barH = Math.max(1, split ? (laneH - inset) * 0.66 : laneH - 2 * inset);
    const waitY = split ? inset + barH + 1 : inset;
    const waitH = split ? Math.max(2, laneH - waitY - 1) : barH;
    const colours = this.routes.colours();
    const buckets = colours.map(() => []);
    let count = 0;
    for (const span of spans) {
      if (span.end < from) continue;
      const lane = this.laneOf.get(span.task);
      if (lane === undefined) continue;
      span.colourIndex ??= this.routes.indexOf(span.route);
      buckets[span.colourIndex].push(span, lane);
      count += 1;
    }
    const live = [];
    for (const [key, task] of store.tasks) {
      const req = task.request;
      if (!req || typeof req.started_ms !== "number") continue;
      const lane = this.laneOf.get(key);
      if (lane === undefined) continue;
      live.push(lane, this.routes.indexOf(req.route ?? req.path), req.started_ms);
      count += 1;
    }
    for (let k = 0; k < colours.length; k++) {
      const list = buckets[k];
      if (list.length === 0) continue;
      ctx.fillStyle = colours[k];
      ctx.globalAlpha = WAIT_ALPHA;
      for (let i = 0; i < list.length; i += 2) {
        const span = list[i];
        if (span.sent === null || span.sent >= span.start) continue;
        const x = xOf(Math.max(span.sent, from));
        ctx.fillRect(x, list[i + 1] * laneH + waitY, Math.max(1, xOf(span.start) - x), waitH);
      }
      ctx.globalAlpha = 1;
      for (let i = 0; i < list.length; i += 2) {
        const span = list[i];
        const x = xOf(Math.max(span.start, from));
        ctx.fillRect(x, list[i + 1] * laneH + inset, Math.max(1.5, xOf(span.end) - x), barH);
      }
    }
    // Failed requests: a red cap at the end of the bar.
    ctx.fillStyle = c.bad;
    for (const list of buckets) {
      for (let i = 0; i < list.length; i += 2) {
        if (failed(list[i].status)) {
          ctx.fillRect(xOf(list[i].end) - 3, list[i + 1] * laneH, 3, Math.max(1, laneH));
        }
      }
    }
    // In service: growing to now, with a bright leading edge.
    const nowX = xOf(clock);
    for (let i = 0; i < live.length; i += 3) {
      const x = xOf(Math.max(live[i + 2], from));
      ctx.fillStyle = colours[live[i + 1]];
      ctx.fillRect(x, live[i] * laneH + inset, Math.max(1.5, nowX - x), barH);
      ctx.fillStyle = c.text;
      ctx.fillRect(nowX - 2, live[i] * laneH + inset, 2, barH);
    }

    this.otherSeen ||= buckets[OTHER_INDEX].length > 0 || live.some((v, i) => i % 3 === 1 && v === OTHER_INDEX);
    this.updateLegend();
    this.drawLabels(labels, laneH, gutter, plotH);
    this.drawAxis(gutter, plotW, plotH, from, xOf);
    if (count === 0) {
      ctx.fillStyle = c.muted;
      ctx.font = `${Math.round(this.fontPx)}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      const empty = `No requests in the last ${this.windowS} s: fire a burst`;
      ctx.fillText(empty, gutter + plotW / 2, plotH / 2);
    }
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
    this.legendList = list;
    setAttr(list, "aria-label", "Timeline colours: one per route");
    this.updateLegend();
  }

  updateLegend() {
    const stamp = `${this.routes.version}/${this.otherSeen}`;
    if (!this.legendList || stamp === this.legendFor) return;
    this.legendFor = stamp;
    const list = this.legendList;
    list.replaceChildren();
    const entries = this.routes.legend(this.otherSeen);
    for (const { route, colour } of entries) {
      const item = element("li", null, list);
      element("span", "kind-swatch", item).style.background = colour;
      item.append(route);
    }
    const wait = element("li", null, list);
    const swatch = element("span", "kind-swatch kind-swatch-wait", wait);
    swatch.style.background = entries[0]?.colour ?? this.colours.muted;
    wait.append("lighter: queue wait (sent → picked up)");
  }

  drawLabels(labels, laneH, gutter, plotH) {
    const ctx = this.ctx;
    const c = this.colours;
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, 0, gutter, plotH);
    if (!labels) return;
    ctx.fillStyle = c.muted;
    ctx.font = `${Math.round(Math.min(laneH * 0.7, this.fontPx * 0.8))}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i < this.lanes.length; i++) {
      ctx.fillText(this.lanes[i].label, gutter - 6, i * laneH + laneH / 2, gutter - 10);
    }
  }

  drawAxis(gutter, plotW, plotH, from, xOf) {
    const ctx = this.ctx;
    const c = this.colours;
    ctx.fillStyle = c.edge;
    ctx.fillRect(gutter, plotH, plotW, 1);
    ctx.fillStyle = c.muted;
    ctx.font = `${Math.round(this.fontPx * 0.8)}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    const windowMs = this.store.spanWindowMs;
    const to = from + windowMs;
    const tickMs = TICK_STEPS_MS.find((step) => windowMs / step <= MAX_TICKS) ?? TICK_STEPS_MS.at(-1);
    for (let ago = 0; ago <= windowMs; ago += tickMs) {
      const x = xOf(to - ago);
      ctx.fillRect(x, plotH, 1, 5);
      ctx.textAlign = ago === 0 ? "right" : ago === windowMs ? "left" : "center";
      ctx.fillText(ago === 0 ? this.endLabel : `−${ago / 1000} s`, x, plotH + 6);
    }
  }

  /** The bar under the pointer, described in a tooltip. */
  hover() {
    if (!this.mouse) return;
    const { laneH, gutter, plotW } = this.geometry();
    const lane = Math.floor(this.mouse.y / laneH);
    const store = this.store;
    const clock = store.clock(performance.now());
    const windowMs = store.spanWindowMs;
    const from = clock - windowMs;
    const t = from + ((this.mouse.x - gutter) / plotW) * windowMs;
    const key = this.lanes[lane]?.key;
    const slack = (4 / plotW) * windowMs; // a few pixels either side
    let found = null;
    if (key !== undefined && this.mouse.x >= gutter) {
      const task = store.tasks.get(key);
      const req = task?.request;
      if (req && t >= req.started_ms - slack) {
        found = {
          route: req.route ?? req.path,
          path: req.path,
          status: "in service",
          wait: null,
          service: clock - req.started_ms,
        };
      }
      for (let i = store.spans.length - 1; i >= 0 && !found; i--) {
        const s = store.spans[i];
        if (s.task !== key) continue;
        if (t >= (s.sent ?? s.start) - slack && t <= s.end + slack) {
          found = {
            route: s.route,
            path: s.path,
            status: s.status,
            wait: s.sent === null ? null : s.start - s.sent,
            service: s.end - s.start,
          };
        }
      }
    }
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
        `task ${this.lanes[lane].label}`,
      ].join("\n"),
    );
    this.tip.hidden = false;
    const left = Math.min(this.mouse.x + 14, this.width - this.tip.offsetWidth - 4);
    const top = Math.min(this.mouse.y + 14, this.height - this.tip.offsetHeight - 4);
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${Math.max(0, top)}px`;
  }
}

function readColours(el) {
  const css = getComputedStyle(el);
  const get = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    bg: get("--panel", "#151b26"),
    stripe: get("--stripe", "#1b2230"),
    edge: get("--panel-edge", "#2a3344"),
    text: get("--text", "#f2f5f9"),
    muted: get("--muted", "#a9b4c4"),
    bad: get("--bad", "#ff7a3d"),
  };
}

