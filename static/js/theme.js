// The stage's light theme, for washed-out projectors: `data-theme="light"` on <html> switches the
// CSS variables; the choice is kept for the next visit on this browser.

const STORAGE_KEY = "threadpulse.theme";

export class Theme {
  /** @param {() => void} onChange called after the theme changed (charts redraw their colours) */
  constructor(onChange) {
    this.onChange = onChange;
    let saved = null;
    try {
      saved = localStorage.getItem(STORAGE_KEY);
    } catch {
      // Storage may be disabled: the default theme then.
    }
    this.apply(saved === "light");
  }

  get light() {
    return document.documentElement.dataset.theme === "light";
  }

  toggle() {
    this.apply(!this.light);
    try {
      localStorage.setItem(STORAGE_KEY, this.light ? "light" : "dark");
    } catch {
      // Not kept; it still applies to this page.
    }
    this.onChange();
  }

  apply(light) {
    if (light) document.documentElement.dataset.theme = "light";
    else delete document.documentElement.dataset.theme;
  }
}
