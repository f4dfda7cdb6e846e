// Going back and forth between maps, as a researcher does, in headless Chromium against browser mode:
//  * a large map opened again while its full layer is still on the way (held back on the server here) draws its
//    preview at once, not after that layer;
//  * a map left and opened again is drawn from the layer the page kept: the server sends no full layer again, only
//    the cells done meanwhile, as a delta.

import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LayerDelta } from "../../src-shared/contract";
import { PREVIEW_ABOVE, PREVIEW_SIDE } from "../../src-shared/api";
import { openStore, type Store } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { journal, mlpSpec, tempDir } from "../core/helpers";
import { drawnAfter, openFromLibrary } from "./drive";
import { launchChromium } from "./page";

const BIG = { nx: 1100, ny: 1000 }; // just over PREVIEW_ABOVE cells: opened through its preview
const BIG_CELLS = BIG.nx * BIG.ny;

let dir: string, store: Store, server: WebServer, browser: Browser, page: Page;
let bigRest: ReturnType<typeof journal>, bigRestCells = 0; // the big map's last tiles, ingested while it is not on screen
const calls: string[] = [];
const deltaCells: number[] = []; // cells in each delta of the big map the server sent (-1: a full layer instead)
let deltaSent = 0;
let hold: Promise<void> | null = null, release = () => {};

const count = (call: string) => calls.filter((c) => c === call).length;

beforeAll(async () => {
  expect(BIG_CELLS).toBeGreaterThan(PREVIEW_ABOVE);
  dir = tempDir("fractal-switch-");
  const dbPath = join(dir, "db.sqlite");
  store = openStore(dbPath);
  const big = mlpSpec(BIG.nx, BIG.ny, { name: "big" }), small = mlpSpec(16, 16, { name: "small" });
  store.createSweep({ id: "big", spec: big, target: "local" });
  store.createSweep({ id: "small", spec: small, target: "local" });
  const events = journal("big", big, BIG_CELLS, 50_000).slice(0, -1); // no "done": more cells come later
  bigRest = events.slice(-2);
  bigRestCells = bigRest.reduce((n, e) => n + (e as { count: number }).count, 0);
  store.ingest("big", "local", events.slice(0, -2));
  store.ingest("small", "local", journal("small", small, 256, 256));

  server = await startWebServer({ dbPath, port: 0, open: false, reattach: false });
  // Record the layer requests; the big map's full layer waits for `hold` while a test holds it.
  const svc = server.service as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of ["getLayer", "getLayerPreview", "getLayerDelta"]) {
    const real = svc[m].bind(server.service);
    svc[m] = async (...a: unknown[]) => {
      // A preview is named with its side: the map's own (PREVIEW_SIDE) apart from the thumbnails' and the overview's.
      calls.push(m === "getLayerPreview" ? `${m} ${a[0]} ${a[2]}` : `${m} ${a[0]}`);
      if (m === "getLayer" && a[0] === "big" && hold) await hold;
      const r = await real(...a);
      if (m === "getLayerDelta" && a[0] === "big") {
        deltaCells.push((r as LayerDelta).kind === "delta" ? (r as { cells: Uint32Array }).cells.length : -1);
        deltaSent = performance.timeOrigin + performance.now(); // epoch ms, as the page's clock
      }
      return r;
    };
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => { throw e; });
  await page.goto(`${server.url}&sweep=small`);
  await drawnAfter(page, "small", 0);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("switching maps", () => {
  it("draws a large map's preview at once when it is opened again while its full layer is still on the way", async () => {
    calls.length = 0; // from here on (the server prefetched the big map's preview as it started)
    hold = new Promise((res) => { release = res; });
    await drawnAfter(page, "big", await openFromLibrary(page, "big"));
    expect(count(`getLayerPreview big ${PREVIEW_SIDE}`)).toBe(1);
    await expect.poll(() => count("getLayer big")).toBe(1); // asked for, held on the server

    await drawnAfter(page, "small", await openFromLibrary(page, "small"));
    const back = await openFromLibrary(page, "big");
    await drawnAfter(page, "big", back); // the preview again, the full layer still held
    expect(count(`getLayerPreview big ${PREVIEW_SIDE}`)).toBe(2);
    expect(await page.evaluate(() => (globalThis as any).__fractalPerf.fullDrawn.big)).toBeUndefined();

    hold = null;
    release();
    await drawnAfter(page, "big", back, true);
    // The layer that was on the way is the one drawn; what came after it is a delta, not the full layer again.
    await expect.poll(() => count("getLayerDelta big")).toBeGreaterThanOrEqual(1);
    expect(count("getLayer big")).toBe(1);
  }, 120_000);

  it("draws a map left and opened again from the layer it kept, with the cells done meanwhile sent as a delta", async () => {
    await drawnAfter(page, "small", await openFromLibrary(page, "small"));
    const before = calls.length, deltas = deltaCells.length;
    store.ingest("big", "local", bigRest); // the big map's last cells, while it is not on screen
    // Once the page has heard of them (its library row counts them), so that opening the map is what fetches them.
    await page.locator("[data-testid=tab-library]").click();
    await expect.poll(() => page.locator("[data-testid=library-row][data-id=big]").textContent()).toContain(`${BIG_CELLS}/${BIG_CELLS}`);
    const back = await openFromLibrary(page, "big");
    await drawnAfter(page, "big", back, true);
    // Drawn from the kept layer: no preview, no full layer asked for; the new cells came as one delta, then drawn.
    const forTheMap = (c: string) => c.split(" ")[1] === "big" && (!c.startsWith("getLayerPreview") || c.endsWith(` ${PREVIEW_SIDE}`));
    await expect.poll(() => calls.slice(before).filter(forTheMap)).toEqual(["getLayerDelta big"]);
    await expect.poll(() => deltaCells.slice(deltas)).toEqual([bigRestCells]);
    await drawnAfter(page, "big", deltaSent, true); // the patched layer drawn
  }, 120_000);
});
