// Route colours: the timeline colours a request by its route (`/post/<int:post_id>`, named by the
// dashboard: dashboard/model/routes.py), so a real app's thousand URLs are a handful of colours.
// Pure: no DOM. A route keeps the colour it got first for the page's life; the demo's endpoints
// keep the colours they always had; routes past the palette share the grey of "other".

const PALETTE = ["#56b4e9", "#e69f00", "#009e73", "#cc79a7", "#f0e442", "#0072b2", "#d55e00"];
const OTHER = { route: "other", colour: "#b0b8c4" };
// The demo app's endpoints (workload/) in their usual colours: a talk's slides name them so.
const PREFERRED = new Map([
  ["/io", PALETTE[0]],
  ["/cpu", PALETTE[1]],
  ["/cpu-native", PALETTE[2]],
  ["/mixed", PALETTE[3]],
  ["/hello", PALETTE[4]],
]);

export class RouteColours {
  constructor() {
    this.entries = []; // [{route, colour}] in the order routes got a colour, then OTHER
    this.index = new Map(); // route -> index in entries
    this.version = 0; // bumped when a route gets a colour (the legend redraws)
  }

  /** The index of a route's colour in `colours()`; a new route takes the next free colour. */
  indexOf(route) {
    const known = this.index.get(route);
    if (known !== undefined) return known;
    const taken = new Set(this.entries.map((e) => e.colour));
    const preferred = PREFERRED.get(route);
    const colour = preferred && !taken.has(preferred) ? preferred : PALETTE.find((c) => !taken.has(c));
    if (colour === undefined) return PALETTE.length; // "other": past the palette
    this.entries.push({ route, colour });
    this.index.set(route, this.entries.length - 1);
    this.version += 1;
    return this.entries.length - 1;
  }

  /** Every colour by index: the routes that have one, then "other" at index PALETTE.length. */
  colours() {
    const out = this.entries.map((e) => e.colour);
    while (out.length < PALETTE.length) out.push(OTHER.colour);
    return [...out, OTHER.colour];
  }

  /** The legend's entries: each route with its colour, and "other" once a route fell under it. */
  legend(otherSeen) {
    return otherSeen ? [...this.entries, OTHER] : [...this.entries];
  }
}

export const OTHER_INDEX = PALETTE.length;
