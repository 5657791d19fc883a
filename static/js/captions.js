// What the room is looking at, in words: the scene fired last (its title, caption and, once its
// run is over, the verdict) and the model's live captions. Both come with every frame (the
// store keeps them); a dashboard without scenes sends neither, and then nothing is shown.

import { element, setText } from "./dom.js";

export class CaptionsView {
  /**
   * @param {HTMLElement} root holds `.scene` (with [data-field=place|title|caption|verdict]) and
   *   `.captions-live` (a list); a page may leave out the scene part
   */
  constructor(root) {
    this.root = root;
    this.scene = root.querySelector(".scene");
    this.fields = new Map(
      [...root.querySelectorAll(".scene [data-field]")].map((el) => [el.dataset.field, el]),
    );
    this.live = root.querySelector(".captions-live");
    this.shown = "";
  }

  render(store) {
    const scene = store.scene;
    if (this.scene) {
      this.scene.hidden = scene === null;
      if (scene) {
        const place = Number.isInteger(scene.index) && Number.isInteger(scene.count);
        setText(this.fields.get("place"), place ? `Scene ${scene.index + 1} of ${scene.count}` : "Scene");
        setText(this.fields.get("title"), String(scene.title ?? ""));
        setText(this.fields.get("caption"), String(scene.caption ?? ""));
        const verdict = this.fields.get("verdict");
        setText(verdict, scene.verdict ? String(scene.verdict) : "");
        verdict.hidden = !scene.verdict;
      }
    }
    const captions = store.captions;
    const key = captions.join("\n");
    if (key !== this.shown) {
      this.shown = key;
      this.live.replaceChildren();
      for (const text of captions) setText(element("li", "caption", this.live), text);
    }
    this.live.hidden = captions.length === 0;
    this.root.hidden = captions.length === 0 && (this.scene === null || scene === null);
  }
}
