// The stage (`/stage`): the projector layout for a speaker. The whole pool sized to fit the
// screen, the counters, the concurrency chart, the scene and live captions, the QR code of the
// audience page (drawn by the dashboard), and the keys a presenter's clicker sends:
// PageDown/→ and PageUp/← for scenes (in a replay, the scenes recorded), b and . to blank the screen (again, or Esc, to bring it
// back), f for full screen, l for the light theme, and the laptop page's preset keys.

import { Api } from "./api.js";
import { CaptionsView } from "./captions.js";
import { Charts } from "./charts.js";
import { Controls } from "./controls.js";
import { CountersView } from "./counters.js";
import { byId, isShortcut, loadScript } from "./dom.js";
import { openStore, startLive } from "./live-page.js";
import { PoolsView } from "./pools.js";
import { PresenterView, takeToken } from "./presenter.js";
import { RecordedScenePlayer } from "./recorded-scenes.js";
import { markReplay } from "./replay.js";
import { NEXT_KEYS, PREVIOUS_KEYS, ScenePlayer } from "./scenes.js";
import { Theme } from "./theme.js";

const MIN_FONT_PX = 16; // the smallest type on a 1280 x 720 projector

const { bootstrap, store } = openStore();
const api = new Api(takeToken());
const pools = new PoolsView(byId("pools"), byId("pools-empty"), {
  fit: () => byId("pools").clientHeight,
});
const controls = new Controls(bootstrap, api);
const charts = new Charts(
  byId("charts"),
  store,
  () => loadScript("/vendor/plotly.min.js").then(() => window.Plotly),
  { only: ["concurrency"], minFontPx: MIN_FONT_PX },
);
charts.setVisible(true);
const theme = new Theme(() => charts.restyle());
const say = (text, kind) => controls.say(text, kind);
// Live, the clicker fires the talk's scenes; in a replay it seeks to the scenes recorded. The
// bootstrap says which, so a live stage never asks GET /api/replay (409 live). A press before
// the replay's status arrives waits for it.
const scenes =
  bootstrap.source === "replay"
    ? api.get("/api/replay").then(({ ok, body }) => {
        if (ok) markReplay(body); // the presets need a live server; the badge says what the room sees
        return new RecordedScenePlayer(api, say);
      })
    : Promise.resolve(new ScenePlayer(api, store, say));

const presenter = new PresenterView(api, byId("viewer-badge"));
presenter.onChange((readOnly) => controls.setReadOnly(readOnly));
presenter.check();

const curtain = byId("curtain");

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen().catch(() => {});
}

const KEYS = {
  b: () => (curtain.hidden = !curtain.hidden),
  ".": () => (curtain.hidden = !curtain.hidden),
  Escape: () => (curtain.hidden = true),
  f: toggleFullscreen,
  l: () => theme.toggle(),
};
for (const key of NEXT_KEYS) KEYS[key] = () => !controls.readOnly && scenes.then((s) => s.next());
for (const key of PREVIOUS_KEYS) KEYS[key] = () => !controls.readOnly && scenes.then((s) => s.previous());

document.addEventListener("keydown", (event) => {
  if (!isShortcut(event)) return;
  const action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
  if (!action) return;
  event.preventDefault();
  action();
});

startLive(store, {
  bootstrap,
  views: [new CountersView(byId("counters")), new CaptionsView(byId("narration")), controls],
  pools,
  onPaint: (now) => charts.update(now),
});
