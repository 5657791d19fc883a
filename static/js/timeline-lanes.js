// The timeline's lanes and its one mapping between the dashboard's clock and the canvas, with no
// DOM: the drawer places every bar through this mapping and the pointer is read back through
// the same one, so a tooltip always names the bar drawn under it.

export const AXIS_H = 26; // px, CSS
export const MAX_LANE_H = 26;
const LABEL_MIN_LANE_H = 13; // lane names are drawn when lanes are at least this tall
const HIT_SLACK_PX = 4; // a bar is found this many pixels either side of its ends

/**
 * Lanes: the store's tasks in pool order, then tasks seen only in spans (gone since).
 * @param {import("./store.js").Store} store
 * @returns {{key: string, pid: number, label: string}[]}
 */
export function buildLanes(store) {
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
  return lanes;
}

/**
 * Where everything goes on a canvas of `width` × `height` CSS px showing [from, from + windowMs]
 * of the dashboard's clock: lane height, whether lane names fit, the gutter they take, and the
 * mapping both ways (xOf: time -> x; timeAt: x -> time; laneAt: y -> lane index).
 * @param {{laneCount: number, width: number, height: number, fontPx: number, from: number,
 *   windowMs: number}} view
 */
export function layout({ laneCount, width, height, fontPx, from, windowMs }) {
  const plotH = height - AXIS_H;
  const laneH = Math.min(MAX_LANE_H, plotH / Math.max(1, laneCount));
  const labels = laneH >= LABEL_MIN_LANE_H;
  const gutter = labels ? Math.min(14 * fontPx * 0.8, width * 0.22) : 8;
  const plotW = Math.max(1, width - gutter - 8);
  const scale = plotW / windowMs; // px per ms
  return {
    width,
    height,
    laneH,
    labels,
    gutter,
    plotW,
    plotH,
    from,
    to: from + windowMs,
    windowMs,
    xOf: (t) => gutter + (t - from) * scale,
    timeAt: (x) => from + (x - gutter) / scale,
    laneAt: (y) => Math.floor(y / laneH),
  };
}

/**
 * The request drawn at (x, y) in CSS px, by the mapping it was drawn with: the one in service on
 * that lane, else the last finished span whose bar (its queue wait included) is there.
 * @returns {{route: string, path: string, status: string, wait: number | null, service: number,
 *   task: string} | null}
 */
export function requestAt(store, lanes, map, x, y) {
  const lane = lanes[map.laneAt(y)];
  if (lane === undefined || x < map.gutter) return null;
  const t = map.timeAt(x);
  const slack = map.timeAt(x + HIT_SLACK_PX) - t;
  const req = store.tasks.get(lane.key)?.request;
  if (req && t >= req.started_ms - slack) {
    const route = req.route ?? req.path;
    return { route, path: req.path, status: "in service", wait: null, service: map.to - req.started_ms, task: lane.label };
  }
  for (let i = store.spans.length - 1; i >= 0; i--) {
    const s = store.spans[i];
    if (s.task !== lane.key) continue;
    if (t >= (s.sent ?? s.start) - slack && t <= s.end + slack) {
      const wait = s.sent === null ? null : s.start - s.sent;
      return { route: s.route, path: s.path, status: s.status, wait, service: s.end - s.start, task: lane.label };
    }
  }
  return null;
}
