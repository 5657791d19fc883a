// Tabs for the views below the pools (timeline, charts): buttons with role="tab", each with a
// one-letter shortcut shown on it. A view is told when it is shown or hidden, so that it draws
// only while on screen.

import { isShortcut } from "./dom.js";

export class Tabs {
  /**
   * @param {HTMLElement} list the [role=tablist] element holding the tab buttons
   * @param {Record<string, {setVisible: (visible: boolean) => void}>} views by panel id
   */
  constructor(list, views) {
    this.views = views;
    this.tabs = [...list.querySelectorAll("[role=tab]")];
    for (const tab of this.tabs) tab.addEventListener("click", () => this.show(tab.dataset.panel));
    document.addEventListener("keydown", (event) => {
      if (!isShortcut(event)) return;
      const tab = this.tabs.find((t) => t.dataset.key === event.key.toLowerCase());
      if (!tab) return;
      event.preventDefault();
      this.show(tab.dataset.panel);
    });
  }

  show(panelId) {
    for (const tab of this.tabs) {
      const selected = tab.dataset.panel === panelId;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.dataset.panel).hidden = !selected;
    }
    for (const tab of this.tabs) {
      this.views[tab.dataset.panel]?.setVisible(tab.dataset.panel === panelId);
    }
  }
}
