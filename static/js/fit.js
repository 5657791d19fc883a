// How big the tiles can be so that every panel and every tile fits in a given box: the stage's
// pool area at 1280 x 720, or a phone's width. Pure arithmetic, no DOM: the pools view measures
// and applies. Panels sit in a grid of `panelCols` columns; each panel lays its tiles out in
// `tileCols` columns; tiles keep one aspect ratio, and one size for all panels.

const ASPECT = 1.5; // width / height: room for a state and a path on one line
const MAX_TILE_WIDTH = 300;

// Past these widths a tile shows its words (CSS hides the rest): all of them, the state and age
// only, or none (a cell: colour and pattern, as the legend says).
const FULL_WIDTH = 150;
const COMPACT_WIDTH = 96;

/** Columns of tiles in a panel and the tile size that fits `n` tiles into `width` × `height`. */
function bestInPanel(n, width, height, gap) {
  let best = { tileCols: 1, tileWidth: 0 };
  for (let cols = 1; cols <= n; cols += 1) {
    const rows = Math.ceil(n / cols);
    const byWidth = (width - gap * (cols - 1)) / cols;
    const byHeight = ((height - gap * (rows - 1)) / rows) * ASPECT;
    const tileWidth = Math.min(byWidth, byHeight, MAX_TILE_WIDTH);
    if (tileWidth > best.tileWidth) best = { tileCols: cols, tileWidth };
  }
  return best;
}

/**
 * @param {{width: number, height: number, counts: number[], panelGap: number, tileGap: number,
 *   chromeWidth: number, chromeHeight: number}} space the box, the tiles of each panel, the gaps
 *   between panels and between tiles, and what a panel takes besides its tiles
 * @returns {{panelCols: number, tileCols: number, tileWidth: number, tileHeight: number,
 *   size: "full" | "compact" | "cell"}} whole pixels, rounded down so that it fits
 */
export function fitTiles({ width, height, counts, panelGap, tileGap, chromeWidth, chromeHeight }) {
  const panels = Math.max(1, counts.length);
  const n = Math.max(1, ...counts);
  let best = { panelCols: 1, tileCols: 1, tileWidth: 0 };
  for (let panelCols = 1; panelCols <= panels; panelCols += 1) {
    const panelRows = Math.ceil(panels / panelCols);
    const innerWidth = (width - panelGap * (panelCols - 1)) / panelCols - chromeWidth;
    const innerHeight = (height - panelGap * (panelRows - 1)) / panelRows - chromeHeight;
    if (innerWidth <= 0 || innerHeight <= 0) continue;
    const inPanel = bestInPanel(n, innerWidth, innerHeight, tileGap);
    if (inPanel.tileWidth > best.tileWidth) best = { panelCols, ...inPanel };
  }
  const tileWidth = Math.max(4, Math.floor(best.tileWidth));
  let size = "cell";
  if (tileWidth >= FULL_WIDTH) size = "full";
  else if (tileWidth >= COMPACT_WIDTH) size = "compact";
  return {
    panelCols: best.panelCols,
    tileCols: best.tileCols,
    tileWidth,
    tileHeight: Math.max(4, Math.floor(tileWidth / ASPECT)),
    size,
  };
}
