// Charts (plotly.js's basic bundle from npm, served by the dashboard): throughput,
// concurrency against capacity, latency split into queue wait and service, service p95 by route
// (in the timeline's route colours), CPU per process and per task. Redrawn with Plotly.react only when a new per-second point arrives (so at most
// about once a second), and only while the charts are on screen. Few traces, SVG: each holds
// at most a point a second of the window shown.
// CPU per task is not in the series: the page keeps its own rolling window, sampling every
// task's `cpu_pct` when a point arrives, and plots the busiest few.

import { element, setAttr, setText } from "./dom.js";
import { RouteColours } from "./routes.js";

const WINDOW_S = 60;
const MIN_REDRAW_MS = 900;
const TOP_TASKS = 6;
const TOP_ROUTES = 6;
const PALETTE = ["#56b4e9", "#e69f00", "#009e73", "#f0e442", "#cc79a7", "#d55e00", "#0072b2", "#ffffff"];

const MARKERS = { mode: "lines+markers", marker: { size: 8 } };

const CHARTS = [
  { id: "throughput", title: "Throughput (requests/s)" },
  { id: "concurrency", title: "Concurrency" },
  { id: "latency", title: "Latency: queue wait + service (ms)" },
  { id: "latency-route", title: `Service p95 by route, busiest ${TOP_ROUTES} (ms)` },
  { id: "cpu-process", title: "CPU per process (% of a core)" },
  { id: "cpu-task", title: `CPU per task, busiest ${TOP_TASKS} (% of a core)` },
];

export class Charts {
  /**
   * @param {HTMLElement} grid the element the charts go into
   * @param {import("./store.js").Store} store
   * @param {() => Promise<object>} loadPlotly resolves to the Plotly library; 1.2 MB, so it
   *   is fetched the first time the charts are shown, not with the page
   * @param {{only?: string[], minFontPx?: number, windowS?: number, routes?: RouteColours}} options
   *   which charts to draw (all by default), the smallest type on them (the stage's is readable
   *   from the back of a room), the seconds shown (the last minute live; a report shows its span)
   *   and the route colours shared with the timeline
   */
  constructor(
    grid,
    store,
    loadPlotly,
    { only = null, minFontPx = 0, windowS = WINDOW_S, routes = new RouteColours() } = {},
  ) {
    this.grid = grid;
    this.store = store;
    this.loadPlotly = loadPlotly;
    this.windowS = windowS;
    this.plotly = null;
    this.loading = false;
    this.visible = false;
    this.drawnFor = null; // the series version last drawn
    this.drawnAt = -Infinity;
    this.pending = null;
    this.taskCpu = new Map(); // task key -> {name, points: [{t, cpu}]}, the page's own window
    this.sampledSeq = null;
    this.boxes = new Map();
    this.minFontPx = minFontPx;
    this.routes = routes;
    this.note = element("p", "charts-note", grid);
    setText(this.note, "Loading the charts…");
    for (const chart of CHARTS.filter((c) => only === null || only.includes(c.id))) {
      const figure = element("figure", "chart", grid);
      setText(element("figcaption", "chart-title", figure), chart.title);
      const box = element("div", "chart-plot", figure);
      box.dataset.chart = chart.id;
      this.boxes.set(chart.id, box);
    }
    new ResizeObserver(() => this.resize()).observe(grid);
  }

  setVisible(visible) {
    this.visible = visible;
    if (!visible) return;
    if (!this.plotly) {
      this.load();
      return;
    }
    this.drawnFor = null;
    this.update(performance.now());
  }

  async load() {
    if (this.loading) return;
    this.loading = true;
    try {
      this.plotly = await this.loadPlotly();
      this.note.hidden = true;
    } catch {
      setText(this.note, "Charts unavailable: /vendor/plotly.min.js did not load. Retrying when shown again.");
    }
    this.loading = false;
    if (this.visible && this.plotly) this.setVisible(true);
  }

  /** The page's colours changed (a theme toggle): draw again with them. */
  restyle() {
    this.drawnFor = null;
    this.update(performance.now());
  }

  /** Called every time the store changed: samples task CPU, redraws if due. */
  update(now) {
    this.sampleTasks();
    if (!this.plotly || !this.visible) return;
    if (this.store.seriesVersion === this.drawnFor) return;
    const wait = MIN_REDRAW_MS - (now - this.drawnAt);
    if (wait > 0) {
      this.pending ??= setTimeout(() => {
        this.pending = null;
        this.update(performance.now());
      }, wait);
      return;
    }
    this.drawnFor = this.store.seriesVersion;
    this.drawnAt = now;
    this.draw();
  }

  sampleTasks() {
    const last = this.store.series.at(-1);
    if (!last || last.seq === this.sampledSeq) return;
    this.sampledSeq = last.seq;
    for (const [key, task] of this.store.tasks) {
      if (typeof task.cpu_pct !== "number") continue;
      if (!this.taskCpu.has(key)) this.taskCpu.set(key, { name: task.name ?? key, points: [] });
      this.taskCpu.get(key).points.push({ t: last.t, cpu: task.cpu_pct });
    }
    for (const [key, entry] of this.taskCpu) {
      while (entry.points.length && entry.points[0].t <= last.t - this.windowS) entry.points.shift();
      if (entry.points.length === 0) this.taskCpu.delete(key);
    }
  }

  resize() {
    if (!this.visible) return;
    for (const box of this.boxes.values()) {
      if ("drawn" in box.dataset) this.plotly.Plots.resize(box); // set to "", so not truthy
    }
  }

  draw() {
    const series = this.store.series;
    const lastT = series.at(-1)?.t ?? 0;
    const points = series.filter((p) => p.t > lastT - this.windowS);
    const x = points.map((p) => p.t - lastT);
    const col = (get) => points.map((p) => get(p) ?? null);
    const line = (name, y, colour, { line: style, ...extra } = {}) => ({
      type: "scatter",
      mode: "lines",
      name,
      x,
      y,
      line: { color: colour, width: 3, ...style },
      hovertemplate: `${name}: %{y}<extra></extra>`,
      ...extra,
    });

    const capacity = col((p) => p.capacity);
    const concurrency = [
      line("in service", col((p) => p.in_service), "#56b4e9", { fill: "tozeroy" }),
      line("queued", col((p) => p.queued), "#e69f00"),
    ];
    if (capacity.some((c) => typeof c === "number")) {
      const edge = getComputedStyle(document.body).getPropertyValue("--text").trim() || "#f2f5f9";
      concurrency.push(line("capacity", capacity, edge, { line: { dash: "dash", width: 2 } }));
    }

    const pids = [...new Set(points.flatMap((p) => Object.keys(p.cpu ?? {})))].slice(0, PALETTE.length);
    const cpuProcess = pids.map((pid, i) =>
      line(`worker ${pid}`, col((p) => p.cpu?.[pid]), PALETTE[i % PALETTE.length]),
    );

    const busiest = [...this.taskCpu.entries()]
      .map(([key, e]) => [key, e, Math.max(...e.points.map((p) => p.cpu))])
      .filter(([, , peak]) => peak > 0)
      .sort((a, b) => b[2] - a[2])
      .slice(0, TOP_TASKS);
    const cpuTask = busiest.map(([, entry], i) => ({
      ...line(entry.name, entry.points.map((p) => p.cpu), PALETTE[i % PALETTE.length]),
      x: entry.points.map((p) => p.t - lastT),
    }));

    const requestsOf = new Map(); // route -> requests over the window: the busiest get a line
    for (const p of points) {
      for (const [route, r] of Object.entries(p.routes ?? {})) {
        requestsOf.set(route, (requestsOf.get(route) ?? 0) + r.n);
      }
    }
    const colours = this.routes.colours();
    const latencyRoute = [...requestsOf.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP_ROUTES)
      .map(([route]) =>
        line(route, col((p) => p.routes?.[route]?.p95), colours[this.routes.indexOf(route)], MARKERS),
      );

    const figures = {
      throughput: [
        line("done", col((p) => p.done), "#3fd1a0"),
        line("failed", col((p) => p.failed), "#ff7a3d"),
      ],
      concurrency,
      // Only seconds in which requests finished have latencies: markers show lone points.
      latency: [
        line("wait p50", col((p) => p.wait_ms?.p50), "#e69f00", MARKERS),
        line("wait p95", col((p) => p.wait_ms?.p95), "#e69f00", { ...MARKERS, line: { dash: "dot" } }),
        line("service p50", col((p) => p.service_ms?.p50), "#56b4e9", MARKERS),
        line("service p95", col((p) => p.service_ms?.p95), "#56b4e9", { ...MARKERS, line: { dash: "dot" } }),
      ],
      "latency-route": latencyRoute,
      "cpu-process": cpuProcess,
      "cpu-task": cpuTask,
    };
    for (const [id, box] of this.boxes) {
      const traces = figures[id];
      this.plotly.react(box, traces, this.layout(id), { displayModeBar: false, responsive: false });
      box.dataset.drawn = "";
      setAttr(box, "data-points", String(traces.reduce((n, t) => n + t.y.filter((v) => v !== null).length, 0)));
    }
    setAttr(this.grid, "data-points", String(points.length));
  }

  layout(id) {
    const font = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const size = (scale) => Math.max(this.minFontPx, Math.round(font * scale));
    // The page's theme colours (the stage has a light theme), as its CSS variables say.
    const css = getComputedStyle(document.body);
    const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const panel = colour("--panel", "#151b26");
    const edge = colour("--panel-edge", "#2a3344");
    const axis = { color: colour("--muted", "#a9b4c4"), gridcolor: edge, zerolinecolor: edge, automargin: true };
    return {
      paper_bgcolor: panel,
      plot_bgcolor: panel,
      font: { color: colour("--text", "#f2f5f9"), size: size(0.8), family: "system-ui, sans-serif" },
      margin: { l: 8, r: 8, t: 8, b: 8 },
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: size(0.75) } },
      xaxis: { ...axis, range: [-this.windowS, 0], ticksuffix: " s", fixedrange: true },
      yaxis: {
        ...axis,
        rangemode: "tozero",
        fixedrange: true,
        ...(id.startsWith("cpu") ? { ticksuffix: "%" } : {}),
      },
      hovermode: "x unified",
      uirevision: id,
    };
  }
}
