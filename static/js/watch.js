// The audience page (`/watch`), for phones: the same live pool, counters and captions, and no
// control at all (the socket only listens; Socket.IO reconnects by itself after a phone sleeps).

import { CaptionsView } from "./captions.js";
import { CountersView } from "./counters.js";
import { byId } from "./dom.js";
import { openStore, startLive } from "./live-page.js";
import { PoolsView } from "./pools.js";

// The pool takes at most this share of the screen's height, so counters and captions stay in
// view; its tiles are sized to fit the phone's width (portrait or landscape).
const POOL_HEIGHT_SHARE = 0.7;

const { bootstrap, store } = openStore();
startLive(store, {
  bootstrap,
  views: [new CountersView(byId("counters")), new CaptionsView(byId("narration"))],
  pools: new PoolsView(byId("pools"), byId("pools-empty"), {
    fit: () => Math.round(window.innerHeight * POOL_HEIGHT_SHARE),
  }),
});
