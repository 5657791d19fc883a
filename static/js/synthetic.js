// Test and benchmark only, loaded when the URL has `?demo-load=LANESxSPANS` (e.g. 256x2000):
// feeds the store synthetic tasks and requests instead of the dashboard's stream, so that the
// timeline's frame rate can be measured at a size no laptop workload reaches. Each lane serves
// requests back to back (queue wait, service, pause), paced so that about SPANS requests end in
// any span window (the store's, from the bootstrap); frames come at 20 Hz as from the dashboard, a series point every second.
// It also narrates as the dashboard's scenes do (a scene and live captions), so that pages can be
// laid out and read with their longest words on screen.

const FRAME_MS = 50;
const TASKS_PER_PROCESS = 64;
const SERVER_ID = "synthetic"; // the one server, shown as the managed one
const PATHS = ["/io", "/cpu", "/cpu-native", "/mixed", "/hello", "/other"];
const STATES = ["running", "waiting", "starved"];
const SCENE = {
  id: "synthetic",
  title: "gunicorn --workers 4 --threads 2: the article's example",
  caption: "Eight requests at once: four workers of two threads each. Watch one worker take more than its share.",
  index: 3,
  count: 9,
  run: null,
  verdict: "1.9 s, not 1.0 s: worker 4120 accepted 11 of 16 connections while another idled.",
};
const CAPTIONS = [
  "worker 4120 holds 7 connections it cannot serve; 2 workers idle",
  "4 threads want a CPU; one holds the GIL",
  "a new thread for each request: 8 made, 8 gone",
];

function parse(search) {
  const match = /^(\d{1,4})x(\d{1,5})$/.exec(new URLSearchParams(search).get("demo-load") ?? "");
  const lanes = match ? Math.min(2048, Math.max(1, Number(match[1]))) : 256;
  const spans = match ? Math.min(20000, Math.max(1, Number(match[2]))) : 2000;
  return { lanes, spans };
}

/** A small deterministic generator, so two runs draw the same picture. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function feed(store, search, { onChange, onStatus }) {
  const { lanes, spans } = parse(search);
  const rand = random(42);
  const windowMs = store.spanWindowMs;
  const period = (windowMs * lanes) / spans; // ms between two requests on one lane
  const now0 = performance.now();
  const processes = Math.ceil(lanes / TASKS_PER_PROCESS);
  const lane = [];
  for (let i = 0; i < lanes; i++) {
    const pid = 10_000 + Math.floor(i / TASKS_PER_PROCESS);
    lane.push({ key: store.taskKey(pid, 20_000 + i), pid, id: 20_000 + i, next: null });
  }
  let seq = 0;
  let version = 1;

  /** Plans a lane's next request: sent at `at`, waits, is served, then the lane pauses. */
  function plan(l, at) {
    const wait = period * (0.05 + 0.2 * rand());
    const service = period * (0.3 + 0.5 * rand());
    l.next = {
      sent: at,
      start: at + wait,
      end: at + wait + service,
      path: PATHS[Math.floor(rand() * PATHS.length)],
      status: rand() < 0.03 ? "500" : "200",
      state: STATES[Math.floor(rand() * STATES.length)],
    };
    l.pauseUntil = l.next.end + period * 0.2 * rand();
  }

  function taskOf(l, clock) {
    const r = l.next;
    const busy = r && r.start <= clock && clock < r.end;
    return {
      id: l.id,
      name: `Synthetic-${l.id - 20_000}`,
      kind: "thread",
      state: busy ? r.state : "idle",
      why: busy && r.state === "starved" ? "gil" : null,
      phase: busy && r.path.startsWith("/cpu") ? "cpu" : null,
      request: busy ? { id: `${l.pid}-${l.id}`, path: r.path, started_ms: r.start } : null,
      cpu_pct: busy && r.state === "running" ? 90 : 5,
    };
  }

  /** A finished request as the dashboard sends it: an array in the bootstrap's field order. */
  function spanArray(key, r) {
    const named = {
      seq: ++seq,
      task: key,
      start_ms: r.start,
      end_ms: r.end,
      sent_ms: r.sent,
      path: r.path,
      status: r.status,
    };
    return store.spanFields.map((name) => named[name]);
  }

  // History first: the requests of the last window, as a snapshot brings them.
  const finished = [];
  for (const l of lane) {
    let at = now0 - windowMs - period * rand();
    plan(l, at);
    while (l.next.end <= now0) {
      finished.push({ key: l.key, r: l.next });
      at = l.pauseUntil;
      plan(l, at);
    }
  }
  finished.sort((a, b) => a.r.end - b.r.end);
  const history = finished.map(({ key, r }) => spanArray(key, r));

  const procs = [];
  for (let p = 0; p < processes; p++) {
    const pid = 10_000 + p;
    procs.push({
      pid,
      key: String(pid),
      server: SERVER_ID,
      slots: Math.min(TASKS_PER_PROCESS, lanes - p * TASKS_PER_PROCESS),
      status: "alive",
      queue: 0,
      cpu_pct: 100,
      sampling_cost_pct: 0.01,
      tasks: lane.filter((l) => l.pid === pid).map((l) => taskOf(l, now0)),
    });
  }
  const capacity = lanes;
  const point = (t) => ({
    seq: t,
    t,
    done: Math.round(spans / 30),
    failed: 1,
    in_service: Math.round(lanes * 0.6),
    queued: Math.round(lanes * 0.15),
    capacity,
    wait_ms: { p50: period * 0.15, p95: period * 0.24, max: period * 0.25 },
    service_ms: { p50: period * 0.55, p95: period * 0.78, max: period * 0.8 },
    cpu: Object.fromEntries(procs.map((p) => [String(p.pid), 60 + 40 * rand()])),
  });
  const t0 = Math.floor(now0 / 1000);
  store.applySnapshot(
    {
      version,
      now_ms: now0,
      servers: [
        {
          id: SERVER_ID,
          label: "synthetic",
          managed: true,
          mode: "synthetic",
          status: "serving",
          error: null,
          workers: processes,
          threads: TASKS_PER_PROCESS,
          capacity,
          pids: procs.map((p) => p.pid),
          counters: { queued: 0, in_service: 0, done: history.length, failed: 0 },
          queues: { client: 0, accept_backlog: 0, in_workers: 0 },
        },
      ],
      processes: procs,
      counters: { queued: 0, in_service: 0, done: history.length, failed: 0 },
      runs: [],
      collector: { rejected: {}, lost: 0, dropped: 0 },
      captions: CAPTIONS,
      scene: SCENE,
      spans: history,
      series: Array.from({ length: 60 }, (_, i) => point(t0 - 59 + i)),
    },
    performance.now(),
  );
  onStatus("connected");
  onChange();

  let lastT = t0;
  setInterval(() => {
    const clock = performance.now();
    const frame = {
      version: version + 1,
      base: version,
      now_ms: clock,
      tasks: {},
      spans: [],
      captions: CAPTIONS,
      scene: SCENE,
    };
    version += 1;
    for (const l of lane) {
      const r = l.next;
      if (!r.emitted && clock >= r.end) {
        r.emitted = true;
        frame.spans.push(spanArray(l.key, r));
      }
      if (clock >= l.pauseUntil) plan(l, clock);
      const task = taskOf(l, clock);
      const held = store.tasks.get(l.key);
      if (held?.state !== task.state || held?.request?.started_ms !== task.request?.started_ms) {
        frame.tasks[l.key] = task;
      }
    }
    const t = Math.floor(clock / 1000);
    if (t > lastT) {
      lastT = t;
      frame.series = [point(t)];
    }
    store.applyFrame(frame, performance.now());
    onChange();
  }, FRAME_MS);
}
