// End to end in headless Chromium on the shipped demo database: double-click zooms 2x about the cell clicked (shift:
// out), and the autopilot (`p`) dives from the whole map toward the boundary, stopping by itself where the finest
// scan's cells are large, with the view's centre on the boundary between trainable and diverged cells of the data.

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src-main/core/store";
import type { WebServer } from "../../src-main/web/server";
import { DIVE_CELL_PX } from "../../src-renderer/dive";
import { screenToWorld } from "../../src-renderer/view";
import { closeEmptyApp, openDemoApp, settled, viewState } from "./page";

let dir: string, server: WebServer, browser: Browser, store: Store, page: Page, rootId: string;

beforeAll(async () => {
  ({ dir, server, store, browser } = await openDemoApp("fractal-dive-"));
  rootId = store.sweeps().find((s) => !s.parent_id && s.spec.model.family === "mlp")!.id;
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${server.url}&sweep=${rootId}`);
  await page.waitForFunction(() => new URL(location.href).searchParams.has("view"), null, { timeout: 120_000 });
  await settled(page);
}, 120_000);

afterAll(async () => {
  await closeEmptyApp({ dir, server, store, browser });
});

const vpOf = (box: { width: number; height: number }) => ({ width: Math.round(box.width), height: Math.round(box.height) });

/** The URL's view once it has changed from `before`'s. */
async function nextView(before: string): Promise<Awaited<ReturnType<typeof viewState>>> {
  await expect.poll(() => new URL(page.url()).searchParams.get("view"), { timeout: 10_000 }).not.toBe(before);
  return viewState(page);
}

describe("map navigation", () => {
  it("zooms 2x about the double-clicked point, and out again with shift", async () => {
    const a = await viewState(page);
    const p = { x: a.box.x + a.box.width * 0.3, y: a.box.y + a.box.height * 0.6 };
    const local = { x: p.x - a.box.x, y: p.y - a.box.y };
    const under = screenToWorld(a.view, vpOf(a.box), local.x, local.y);
    await page.mouse.dblclick(p.x, p.y);
    const b = await nextView(new URL(page.url()).searchParams.get("view")!);
    expect(b.view.sx / a.view.sx).toBeCloseTo(0.5, 6);
    expect(b.view.sy / a.view.sy).toBeCloseTo(0.5, 6);
    // The point under the cursor stayed under it.
    const still = screenToWorld(b.view, vpOf(b.box), local.x, local.y);
    expect(Math.abs(still.x - under.x) / a.view.sx).toBeLessThan(0.5); // pixels: the map box sits at fractional offsets
    expect(Math.abs(still.y - under.y) / a.view.sy).toBeLessThan(0.5);
    await page.keyboard.down("Shift");
    await page.mouse.dblclick(p.x, p.y);
    await page.keyboard.up("Shift");
    const c = await nextView(new URL(page.url()).searchParams.get("view")!);
    expect(c.view.sx / a.view.sx).toBeCloseTo(1, 6);
    expect(Math.abs(c.view.cx - a.view.cx) / a.view.sx).toBeLessThan(0.5);
  });

  it("dives with the autopilot from the whole map onto the boundary, and stops at the finest scan there", async () => {
    // The HUD's button starts a dive and stops it again.
    const button = page.locator("[data-testid=autopilot]");
    await button.click();
    await expect.poll(() => button.textContent(), { timeout: 10_000 }).toBe("stop dive"); // a loaded machine renders late
    await button.click();
    await expect.poll(() => button.textContent(), { timeout: 10_000 }).toBe("autopilot");
    await page.keyboard.press("0");
    await settled(page);
    const home = await viewState(page);
    await page.keyboard.press("p");
    await expect.poll(() => page.locator("[data-testid=autopilot]").textContent(), { timeout: 10_000 }).toBe("stop dive");
    await expect.poll(() => page.locator("[data-testid=autopilot]").textContent(), { timeout: 60_000 }).toBe("autopilot");
    await expect.poll(() => page.locator("[data-testid=notice]").allTextContents()).toContainEqual(expect.stringMatching(/autopilot stopped: the finest scan here \(\d+×\d+\) is reached/));
    const end = await viewState(page);
    expect(end.view.sx).toBeLessThan(home.view.sx / 10);

    // The finest scan of the tree under the centre, as the map draws it: its cells are DIVE_CELL_PX wide or more there,
    // and within a few cells of the centre both outcomes are present (the sign of the score, which the map shows).
    const tree = store.sweeps().filter((s) => s.id === rootId || ancestors(s.id).includes(rootId));
    const { cx, cy, sx } = end.view;
    const covering = tree.filter((s) => s.window.x0 <= cx && cx < s.window.x1 && s.window.y0 <= cy && cy < s.window.y1)
      .map((s) => ({ s, cell: (s.window.x1 - s.window.x0) / s.nx }))
      .sort((a, b) => a.cell - b.cell);
    const finest = covering.find(({ s }) => doneAt(s.id, s.nx, cellIndex(s, cx, cy)))!;
    expect(finest).toBeDefined();
    expect(finest.cell / sx).toBeGreaterThanOrEqual(DIVE_CELL_PX * 0.95);
    const s = finest.s, score = store.loadField(s.id, "score"), done = store.loadDone(s.id);
    const { ix, iy } = cellXY(s, cx, cy);
    const signs = new Set<boolean>();
    for (let dy = -3; dy <= 3; dy++) {
      for (let dx = -3; dx <= 3; dx++) {
        const jx = ix + dx, jy = iy + dy;
        if (jx < 0 || jy < 0 || jx >= s.nx || jy >= s.ny || !done[jy * s.nx + jx]) continue;
        signs.add(score[jy * s.nx + jx] > 0);
      }
    }
    expect([...signs].sort()).toEqual([false, true]);
  }, 90_000);
});

function ancestors(id: string): string[] {
  const out: string[] = [];
  for (let p = store.sweep(id)?.parent_id; p; p = store.sweep(p)?.parent_id) out.push(p);
  return out;
}

function cellXY(s: { window: { x0: number; x1: number; y0: number; y1: number }; nx: number; ny: number }, x: number, y: number) {
  return {
    ix: Math.min(s.nx - 1, Math.floor(((x - s.window.x0) / (s.window.x1 - s.window.x0)) * s.nx)),
    iy: Math.min(s.ny - 1, Math.floor(((y - s.window.y0) / (s.window.y1 - s.window.y0)) * s.ny)),
  };
}

function cellIndex(s: { window: { x0: number; x1: number; y0: number; y1: number }; nx: number; ny: number }, x: number, y: number): number {
  const { ix, iy } = cellXY(s, x, y);
  return iy * s.nx + ix;
}

function doneAt(id: string, _nx: number, cell: number): boolean {
  return store.loadDone(id)[cell] === 1;
}
