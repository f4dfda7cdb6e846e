// End to end, the map's palettes on the shipped demo database in headless Chromium: another palette picked in the
// legend recolours the map's cells (as the analysis code colours the store's map in that palette) and the legend's
// bar, the exported PNG has the cells in the same colours, the 3-D view's ramp follows, each kind of layer keeps its
// own choice, and the choice survives a reload (this browser's storage) and travels in the view link (a fresh browser
// profile opening it).
// The demo's 8x4 SFT map has cells hundreds of pixels wide: one pixel per cell is that cell's colour.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { colourLayer } from "../../src-main/analysis/colour";
import { decodePngRgba } from "../../src-main/analysis/png";
import type { Store } from "../../src-main/core/store";
import { sweepMap } from "../../src-main/core/sweep-maps";
import type { WebServer } from "../../src-main/web/server";
import { CIVIDIS, paletteOf, type Rgb, sampleColourMap, SPECTRAL } from "../../src-shared/colours";
import { cellOnPage, closeEmptyApp, openDemoApp, pixel, settled, shot, viewState } from "./page";

let dir: string, server: WebServer, browser: Browser, store: Store, sftId: string;

beforeAll(async () => {
  ({ dir, server, store, browser } = await openDemoApp("fractal-palettes-"));
  sftId = store.sweeps().find((s) => !s.parent_id && s.spec.model.family === "gpt")!.id;
}, 120_000);

afterAll(async () => {
  await closeEmptyApp({ dir, server, store, browser });
});

async function open(page: Page, extra = ""): Promise<void> {
  await page.goto(`${server.url}&sweep=${sftId}${extra}`);
  await page.waitForFunction(() => new URL(location.href).searchParams.has("view"), null, { timeout: 120_000 });
  await settled(page);
}

const near = (a: readonly number[], b: readonly number[], tol: number) => a.every((x, k) => Math.abs(x - b[k]) <= tol);

/** How many of the SFT map's cells show on the page in `palette`'s colours for the score layer (of all of them). */
async function cellsInPalette(page: Page, palette: string, name: string): Promise<{ ok: number; of: number }> {
  const s = store.sweep(sftId)!;
  const want = colourLayer(sweepMap(store, sftId), "score", paletteOf(palette)).rgba;
  const img = await shot(page, name);
  const st = await viewState(page);
  let ok = 0;
  for (let iy = 0; iy < s.ny; iy++) {
    for (let ix = 0; ix < s.nx; ix++) {
      const p = cellOnPage(st, s.window, s.nx, ix, iy, s.ny);
      const i = iy * s.nx + ix;
      if (near(pixel(img, p.x, p.y), Array.from(want.subarray(4 * i, 4 * i + 3)), 3)) ok++;
    }
  }
  return { ok, of: s.nx * s.ny };
}

/** Whether the legend bar shows `stops` (a CSS gradient through them, evenly spaced): at six places along it. */
async function barShows(page: Page, stops: readonly Rgb[]): Promise<string | true> {
  const b = (await page.locator("[data-testid=legend-bar]").boundingBox())!;
  const img = await shot(page, "palettes-bar");
  for (const f of [0.02, 0.2, 0.4, 0.6, 0.8, 0.98]) {
    const x = Math.round(b.x + f * b.width), got = pixel(img, x, b.y + b.height / 2);
    const want = sampleColourMap(stops, (x + 0.5 - b.x) / b.width);
    if (!near(got, want, 8)) return `bar at ${f}: ${got} where the palette has ${want}`;
  }
  return true;
}

describe("palettes", () => {
  it("recolours the map, its legend bar and the exported PNG; kept per kind of layer, over a reload and in the link", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
    await open(page);
    // The paper's Spectral by default: the map's cells and the bar's ends (dark red ... blue-purple).
    expect(await page.locator("[data-testid=palette]").inputValue()).toBe("spectral");
    await expect.poll(() => cellsInPalette(page, "spectral", "palettes-1-spectral"), { timeout: 20_000 }).toEqual({ ok: 32, of: 32 });
    expect(await barShows(page, SPECTRAL)).toBe(true);

    // cividis, picked beside the bar: every cell (drawn by WebGL's shader, the 2-D first frame gone) and the bar change
    // to it, and the link names it.
    await page.locator("[data-testid=map-preview-2d]").waitFor({ state: "detached", timeout: 60_000 });
    await page.locator("[data-testid=palette]").selectOption("cividis");
    await expect.poll(() => cellsInPalette(page, "cividis", "palettes-2-cividis"), { timeout: 10_000 }).toEqual({ ok: 32, of: 32 });
    expect(await barShows(page, CIVIDIS)).toBe(true);
    expect(new URL(page.url()).searchParams.get("palette")).toBe("rank.cividis");

    // The PNG the analysis panel exports has the cells in the colours the map shows (and none of Spectral's).
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("[data-testid=export-png]").click()]);
    const png = decodePngRgba(new Uint8Array(readFileSync((await download.path())!)));
    const colours = new Set<string>();
    for (let k = 0; k < png.width * png.height; k++) colours.add(Array.from(png.data.subarray(4 * k, 4 * k + 3)).join());
    const cells = (p: string) => { const c = colourLayer(sweepMap(store, sftId), "score", paletteOf(p)).rgba; return Array.from({ length: 32 }, (_, i) => Array.from(c.subarray(4 * i, 4 * i + 3)).join()); };
    expect(cells("cividis").filter((c) => colours.has(c)).length).toBe(32);
    expect(cells("spectral").filter((c) => colours.has(c)).length).toBe(0);

    // The 3-D view's score surface is coloured, and its legend's ramp drawn, in the same palette: its top is cividis's.
    await page.locator("[data-testid=mode-surface]").click();
    await page.locator(".surface-metric select").selectOption("score");
    const ramp = () => page.locator(".surface-ramp").evaluate((el) => (el as HTMLElement).style.background.replace(/\s/g, ""));
    await expect.poll(ramp, { timeout: 30_000 }).toContain(`rgb(${CIVIDIS[CIVIDIS.length - 1].join(",")})100%`);
    await page.locator("[data-testid=mode-map]").click();

    // The loss layers keep their own palette (viridis by default); back on the score the choice is still cividis.
    await page.locator("[data-testid=layer]").selectOption("finalLoss");
    await expect.poll(() => page.locator("[data-testid=palette]").inputValue()).toBe("viridis");
    await page.locator("[data-testid=layer]").selectOption("score");
    await expect.poll(() => page.locator("[data-testid=palette]").inputValue()).toBe("cividis");

    // A reload of the plain link (no palette in it): this browser remembers the choice.
    await open(page);
    expect(await page.locator("[data-testid=palette]").inputValue()).toBe("cividis");
    await expect.poll(() => cellsInPalette(page, "cividis", "palettes-3-reloaded"), { timeout: 20_000 }).toEqual({ ok: 32, of: 32 });
    await context.close();

    // Another browser profile (nothing remembered) opening a link that names a palette shows it; an unknown one is ignored.
    const fresh = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const other = await fresh.newPage();
    await open(other, "&palette=rank.magma,log.nosuch");
    expect(await other.locator("[data-testid=palette]").inputValue()).toBe("magma");
    await expect.poll(() => cellsInPalette(other, "magma", "palettes-4-link"), { timeout: 20_000 }).toEqual({ ok: 32, of: 32 });
    await fresh.close();
  }, 240_000);
});
