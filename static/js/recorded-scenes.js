// Scenes in a replay: a talk given from a recording, with no server. The clicker's next key seeks
// to the first scene fired after the replay's position and plays on from there; previous goes back
// to the start of the scene playing, or, within its first seconds, of the one before it (as a
// player's back button does). The scenes and the position come from GET /api/replay.

import { SceneStepper } from "./scenes.js";

const LEAD_S = 0.25; // seek this far before a scene was fired: its first frame is then in view
const BACK_S = 2; // a previous press this soon after a scene's start goes to the one before it

export class RecordedScenePlayer extends SceneStepper {
  /**
   * @param {import("./api.js").Api} api
   * @param {(text: string, kind: string) => void} say shows a short notice
   */
  constructor(api, say) {
    super();
    this.api = api;
    this.say = say;
  }

  async go(delta) {
    const { ok, body } = await this.api.get("/api/replay");
    if (!ok) {
      this.say(body?.error ?? "The dashboard did not answer.", "error");
      return;
    }
    const scenes = body.scenes ?? [];
    if (scenes.length === 0) {
      this.say("This recording holds no scenes.", "info");
      return;
    }
    const index =
      delta > 0
        ? scenes.findIndex((scene) => scene.at_s > body.at_s + 2 * LEAD_S)
        : scenes.findLastIndex((scene) => scene.at_s < body.at_s - BACK_S);
    if (delta > 0 && index < 0) {
      this.say("That was the last scene of the recording.", "info");
      return;
    }
    const at = index < 0 ? 0 : Math.max(0, scenes[index].at_s - LEAD_S);
    const sent = await this.api.post("/api/replay", { at_s: at, paused: false });
    if (!sent.ok) this.say(sent.error, "error");
    else if (index < 0) this.say("Back to the start of the recording.", "info");
    else this.say(`Scene ${index + 1} of ${scenes.length}: ${scenes[index].title}`, "ok");
  }
}
