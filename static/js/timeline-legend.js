// The timeline's legend: one swatch per route drawn (in the colours the charts share), the
// "other routes" swatch once a bar was drawn in it, and the queue-wait shade. Rebuilt only when
// the route colours or that "other" flag change.

import { element, setAttr } from "./dom.js";

export class TimelineLegend {
  /**
   * @param {import("./routes.js").RouteColours} routes
   * @param {string} fallbackColour the queue-wait swatch's colour before any route is known
   */
  constructor(routes, fallbackColour) {
    this.routes = routes;
    this.fallbackColour = fallbackColour;
    this.list = null; // the <ul> the legend is kept in, if any
    this.shownFor = null; // the route colours' version (and "other" seen) the legend shows
    this.otherSeen = false;
  }

  /** Keeps the legend in `list` from now on. */
  showIn(list) {
    this.list = list;
    setAttr(list, "aria-label", "Timeline colours: one per route");
    this.update(false);
  }

  /** @param {boolean} otherDrawn whether the frame just drawn had a bar in the "other" colour */
  update(otherDrawn) {
    this.otherSeen ||= otherDrawn;
    const stamp = `${this.routes.version}/${this.otherSeen}`;
    if (!this.list || stamp === this.shownFor) return;
    this.shownFor = stamp;
    const list = this.list;
    list.replaceChildren();
    const entries = this.routes.legend(this.otherSeen);
    for (const { route, colour } of entries) {
      const item = element("li", null, list);
      element("span", "kind-swatch", item).style.background = colour;
      item.append(route);
    }
    const wait = element("li", null, list);
    const swatch = element("span", "kind-swatch kind-swatch-wait", wait);
    swatch.style.background = entries[0]?.colour ?? this.fallbackColour;
    wait.append("lighter: queue wait (sent → picked up)");
  }
}
