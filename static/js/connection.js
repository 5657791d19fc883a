// The Socket.IO link to the dashboard: feeds `snapshot` and `frame` into the store, asks for a
// `resync` when a frame does not follow the version held, and reports the link's status.
// Socket.IO's client reconnects by itself (with backoff) when the dashboard goes away; the
// dashboard greets every (re)connection with a snapshot.

// One resync at a time: a frame that misses while one is asked for is simply dropped, unless
// the answer is this late (then it is asked again).
const RESYNC_PATIENCE_MS = 2000;
const RETRY_MS = 1000;

/**
 * @param {Function} io the Socket.IO client factory (the global from /vendor/socket.io.min.js)
 * @param {import("./store.js").Store} store
 * @param {{onChange: Function, onStatus: Function}} hooks
 * @param {{websocketFirst?: boolean}} options `websocketFirst`: open a WebSocket at once, as a
 *   page behind a round-robin proxy must (docs/deploy.md), and fall back to long-polling only if
 *   it cannot be opened; otherwise Socket.IO's default, long-polling first, then the upgrade
 */
export function connect(io, store, { onChange, onStatus }, { websocketFirst = false } = {}) {
  const transports = websocketFirst
    ? { transports: ["websocket", "polling"], tryAllTransports: true }
    : {};
  const socket = io({ reconnectionDelayMax: 2000, ...transports });
  let resyncAskedAt = null; // performance.now() of the resync still unanswered

  socket.on("connect", () => {
    resyncAskedAt = null;
    onStatus("connected");
  });

  socket.on("disconnect", (reason) => {
    store.freeze(performance.now());
    onStatus("disconnected");
    onChange();
    // Socket.IO retries by itself except after a server-side disconnect; retry then too,
    // after a pause, so that a dashboard shutting down cleanly is also rejoined.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), RETRY_MS);
  });

  socket.on("connect_error", () => onStatus("disconnected"));

  socket.on("snapshot", (snap) => {
    resyncAskedAt = null;
    store.applySnapshot(snap, performance.now());
    onChange();
  });

  socket.on("frame", (frame) => {
    const now = performance.now();
    if (store.applyFrame(frame, now)) {
      onChange();
    } else if (
      store.missed(frame) &&
      (resyncAskedAt === null || now - resyncAskedAt >= RESYNC_PATIENCE_MS)
    ) {
      resyncAskedAt = now;
      socket.emit("resync");
    }
  });

  return socket;
}
