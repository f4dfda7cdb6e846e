/**
 * The analysis core: pure functions over a SweepMap (map.ts) or a Mask (dimension.ts), no store,
 * no electron. The CLI's `dimension` and `report` commands and the UI build on these.
 */
export * from "./map.js";
export * from "./dimension.js";
export * from "./mask.js";
export * from "./boundary.js";
export * from "./stats.js";
export * from "./rules.js";
export * from "./earlywarning.js";
export * from "./colour.js";
export * from "./font.js";
export * from "./png.js";
export * from "./figure.js";
export * from "./report.js";
