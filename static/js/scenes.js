// Scenes from the presenter's clicker: next (PageDown, →) fires the scene after the one fired
// last, previous (PageUp, ←) the one before it, again. The talk comes from GET /api/scenes, the
// scene fired last from the frames (`scene`, its 0-based index); POST /api/scenes/ID switches the
// server if needed and fires the scene's load. A dashboard without scenes answers 404: the
// keys then only say so.

export const NEXT_KEYS = ["PageDown", "ArrowRight"];
export const PREVIOUS_KEYS = ["PageUp", "ArrowLeft"];

/** The clicker's two keys, one press at a time: a press while the last one is still being
 * answered is dropped. Subclasses say what a step is (`go(delta)`). */
export class SceneStepper {
  constructor() {
    this.busy = false;
  }

  next() {
    return this.step(+1);
  }

  previous() {
    return this.step(-1);
  }

  async step(delta) {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.go(delta);
    } finally {
      this.busy = false;
    }
  }
}

export class ScenePlayer extends SceneStepper {
  /**
   * @param {import("./api.js").Api} api
   * @param {import("./store.js").Store} store
   * @param {(text: string, kind: string) => void} say shows a short notice
   */
  constructor(api, store, say) {
    super();
    this.api = api;
    this.store = store;
    this.say = say;
    this.scenes = null; // the talk, once fetched; [] when the dashboard has none
  }

  async talk() {
    if (this.scenes === null) {
      const { ok, body } = await this.api.get("/api/scenes");
      if (ok && Array.isArray(body?.scenes)) this.scenes = body.scenes;
      else if (!ok) return []; // unreachable, or no scenes on this dashboard: ask again next time
    }
    return this.scenes ?? [];
  }

  async go(delta) {
    const scenes = await this.talk();
    if (scenes.length === 0) {
      this.say("No scenes: this dashboard has no talk loaded.", "info");
      return;
    }
    const current = this.store.scene?.index;
    const index = Number.isInteger(current) ? current + delta : delta > 0 ? 0 : -1;
    if (index < 0) {
      this.say("This is the first scene.", "info");
      return;
    }
    if (index >= scenes.length) {
      this.say("That was the last scene.", "info");
      return;
    }
    const scene = scenes[index];
    this.say(`Scene ${index + 1} of ${scenes.length}: ${scene.title}…`, "info");
    const { ok, error } = await this.api.post(`/api/scenes/${encodeURIComponent(scene.id)}`, {});
    this.say(ok ? `Scene ${index + 1} of ${scenes.length}: ${scene.title}` : error, ok ? "ok" : "error");
  }
}
