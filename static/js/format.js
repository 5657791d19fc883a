// Number formatting shared by the views. Unknown values (null/undefined) show as a dash.

const DASH = "—";

export function formatMs(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return DASH;
  if (ms < 0) ms = 0;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60000);
  const seconds = Math.floor((ms % 60000) / 1000);
  return `${minutes} min ${String(seconds).padStart(2, "0")} s`;
}

// A request's age on a tile: whole ms under a second, then tenths of a second, so it ticks
// visibly without flickering digits.
export function formatAge(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return DASH;
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return formatMs(ms);
}

export function formatCount(n) {
  return typeof n === "number" && Number.isFinite(n) ? String(n) : DASH;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A percentage; `digits` decimals (whole by default). */
export function formatPct(value, digits = 0) {
  return typeof value === "number" && Number.isFinite(value) ? `${value.toFixed(digits)}%` : DASH;
}
