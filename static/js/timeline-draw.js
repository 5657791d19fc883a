// The timeline's canvas drawer: lane stripes, one bar per request (its queue wait lighter), the
// requests still in service growing to "now", lane names and the time axis. Everything is placed
// through the layout's mapping (timeline-lanes.js), the one the pointer is read back with.

import { OTHER_INDEX } from "./routes.js";

const WAIT_ALPHA = 0.45;
// Axis ticks: the first of these steps that puts at most MAX_TICKS on the window (5 s on the
// live page's 30 s; a report's span may be a second or several minutes).
const TICK_STEPS_MS = [250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000];
const MAX_TICKS = 8;

function failed(status) {
  return !/^[23]/.test(status);
}

/** The theme's colours as the canvas needs them, read from the CSS custom properties of `el`. */
export function readColours(el) {
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

/**
 * Draws one frame of the timeline.
 * @param {CanvasRenderingContext2D} ctx scaled to CSS px by the caller
 * @param {object} scene `store`, `lanes`, `laneOf` (task key -> lane index), `map` (layout()),
 *   `clock` (the dashboard's now), `routes` (RouteColours), `colours` (readColours()), `fontPx`,
 *   `endLabel` (the window's right end: "now" live) and `windowS`
 * @returns {{count: number, otherSeen: boolean}} the bars drawn, and whether one was in the
 *   "other routes" colour
 */
export function drawTimeline(ctx, { store, lanes, laneOf, map, clock, routes, colours: c, fontPx, endLabel, windowS }) {
  const { laneH, gutter, plotW, plotH, from, xOf } = map;
  ctx.fillStyle = c.bg;
  ctx.fillRect(0, 0, map.width, map.height);

  // Lane stripes and worker separators.
  ctx.fillStyle = c.stripe;
  if (laneH >= 4) {
    for (let i = 1; i < lanes.length; i += 2) ctx.fillRect(gutter, i * laneH, plotW, laneH);
  }
  ctx.fillStyle = c.edge;
  for (let i = 1; i < lanes.length; i++) {
    if (lanes[i].pid !== lanes[i - 1].pid) ctx.fillRect(0, i * laneH - 1, map.width, 2);
  }

  // Bars, batched by colour: queue waits (lighter) first, then service.
  const inset = laneH >= 6 ? Math.max(1, laneH * 0.1) : 0;
  // Tall lanes: service in the upper band, queue wait in a lower band of its own, since a
  // request mostly waits while its lane serves another (the pool was full), and would hide.
  const split = laneH >= 8;
  const barH = Math.max(1, split ? (laneH - inset) * 0.66 : laneH - 2 * inset);
  const waitY = split ? inset + barH + 1 : inset;
  const waitH = split ? Math.max(2, laneH - waitY - 1) : barH;
  const palette = routes.colours();
  const buckets = palette.map(() => []);
  let count = 0;
  for (const span of store.spans) {
    if (span.end < from) continue;
    const lane = laneOf.get(span.task);
    if (lane === undefined) continue;
    span.colourIndex ??= routes.indexOf(span.route);
    buckets[span.colourIndex].push(span, lane);
    count += 1;
  }
  const live = [];
  for (const [key, task] of store.tasks) {
    const req = task.request;
    if (!req || typeof req.started_ms !== "number") continue;
    const lane = laneOf.get(key);
    if (lane === undefined) continue;
    live.push(lane, routes.indexOf(req.route ?? req.path), req.started_ms);
    count += 1;
  }
  for (let k = 0; k < palette.length; k++) {
    const list = buckets[k];
    if (list.length === 0) continue;
    ctx.fillStyle = palette[k];
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
    ctx.fillStyle = palette[live[i + 1]];
    ctx.fillRect(x, live[i] * laneH + inset, Math.max(1.5, nowX - x), barH);
    ctx.fillStyle = c.text;
    ctx.fillRect(nowX - 2, live[i] * laneH + inset, 2, barH);
  }

  drawLabels(ctx, lanes, map, c, fontPx);
  drawAxis(ctx, map, c, fontPx, endLabel);
  if (count === 0) {
    ctx.fillStyle = c.muted;
    ctx.font = `${Math.round(fontPx)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(`No requests in the last ${windowS} s: fire a burst`, gutter + plotW / 2, plotH / 2);
  }
  const otherSeen =
    buckets[OTHER_INDEX].length > 0 || live.some((v, i) => i % 3 === 1 && v === OTHER_INDEX);
  return { count, otherSeen };
}

function drawLabels(ctx, lanes, { labels, laneH, gutter, plotH }, c, fontPx) {
  ctx.fillStyle = c.bg;
  ctx.fillRect(0, 0, gutter, plotH);
  if (!labels) return;
  ctx.fillStyle = c.muted;
  ctx.font = `${Math.round(Math.min(laneH * 0.7, fontPx * 0.8))}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i < lanes.length; i++) {
    ctx.fillText(lanes[i].label, gutter - 6, i * laneH + laneH / 2, gutter - 10);
  }
}

function drawAxis(ctx, { gutter, plotW, plotH, to, windowMs, xOf }, c, fontPx, endLabel) {
  ctx.fillStyle = c.edge;
  ctx.fillRect(gutter, plotH, plotW, 1);
  ctx.fillStyle = c.muted;
  ctx.font = `${Math.round(fontPx * 0.8)}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  const tickMs = TICK_STEPS_MS.find((step) => windowMs / step <= MAX_TICKS) ?? TICK_STEPS_MS.at(-1);
  for (let ago = 0; ago <= windowMs; ago += tickMs) {
    const x = xOf(to - ago);
    ctx.fillRect(x, plotH, 1, 5);
    ctx.textAlign = ago === 0 ? "right" : ago === windowMs ? "left" : "center";
    ctx.fillText(ago === 0 ? endLabel : `−${ago / 1000} s`, x, plotH + 6);
  }
}
