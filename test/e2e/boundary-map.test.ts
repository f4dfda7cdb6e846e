// End to end, boundary sampling in the app: a "sampling": "boundary" sweep trained by the real agent (through the CLI),
// served by browser mode in headless Chromium. The map draws inferred cells differently from trained ones, the
// inspector says a cell is inferred, and its "fill in" button trains exactly the inferred cells into the grid map.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO, YES } from "../../src-shared/colours";
import { openStore, type Store } from "../../src-main/core/store";
import type { WebServer } from "../../src-main/web/server";
import { ARTIFACTS, cellOnPage, closeOpened, glDrawn, pixel, settled, shot, sweepAndOpen, viewState } from "./page";

const N = 32;
const SPEC = {
  version: 1, name: "e2e boundary", model: { family: "mlp", width: 4, activation: "tanh" }, train: { steps: 40 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: N }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: N } },
  criterion: { window: 10 }, sampling: "boundary",
};

let dir: string, dbPath: string, server: WebServer, browser: Browser, page: Page, store: Store, id: string;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "fractal-e2e-boundary-"));
  dbPath = join(dir, "sweeps.sqlite");
  writeFileSync(join(dir, "spec.json"), JSON.stringify(SPEC));
  process.env.FRACTAL_AGENT_HOME = join(dir, "agent-home");
  ({ id, server, browser, page } = await sweepAndOpen(join(dir, "spec.json"), dbPath, dir));
  store = openStore(dbPath);
  await glDrawn(page);
  await settled(page);
}, 300_000);

afterAll(async () => {
  await closeOpened({ browser, server, store }, join(dir, "agent-home"));
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const far = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe("boundary sampling in the app", () => {
  it("draws inferred cells unlike trained ones, says so in the inspector, and fills them in", async () => {
    const inferred = store.loadField(id, "inferred"), trainable = store.loadField(id, "trainable");
    let nInferred = 0;
    for (const v of inferred) nInferred += v;
    expect(nInferred).toBeGreaterThan(0);

    await page.locator("[data-testid=layer]").selectOption("trainable");
    await page.waitForTimeout(600);
    const img = await shot(page, "boundary-01-trainable");
    const st = await viewState(page);
    const win = store.sweep(id)!.window;
    let trained = 0, marked = 0, anInferred = -1;
    for (let iy = 0; iy < N; iy++) {
      for (let ix = 0; ix < N; ix++) {
        const c = iy * N + ix, p = cellOnPage(st, win, N, ix, iy);
        const want = trainable[c] ? YES : NO;
        // a few pixels into the cell: its colour, or (inferred) its dimmed colour or a stripe over it
        const px = [pixel(img, p.x, p.y), pixel(img, p.x + 1, p.y), pixel(img, p.x + 2, p.y)];
        if (inferred[c]) {
          if (px.every((q) => far(q, want) > 25)) marked++;
          if (anInferred < 0 && ix > 1 && iy > 1 && ix < N - 2 && iy < N - 2) anInferred = c;
        } else {
          expect(far(px[0], want), `trained cell (${ix}, ${iy})`).toBeLessThan(12);
          trained++;
        }
      }
    }
    expect(trained).toBeGreaterThan(0);
    expect(marked).toBe(nInferred); // every inferred cell is drawn unlike a trained cell of its outcome

    const ix = anInferred % N, iy = Math.floor(anInferred / N);
    const p = cellOnPage(st, win, N, ix, iy);
    await page.mouse.click(p.x, p.y);
    await page.locator(`[data-testid=inspector] h3:has-text("cell (${ix}, ${iy})")`).waitFor();
    await expect(page.locator("[data-testid=inspector-inferred]").textContent()).resolves.toMatch(/inferred, not trained/);

    // it has no curves (it was not trained): the inspector re-trains it here, and says what that tells about the guess
    await expect(page.locator("[data-testid=recompute-check]").textContent({ timeout: 120_000 }))
      .resolves.toMatch(/inferred, not trained: the recorded values are a trained neighbour's/);

    await page.locator("[data-testid=fill-in]").click();
    // the app opens the fill-in: the grid sweep of the same spec, trained from the boundary sweep's cells
    await page.waitForFunction((old) => { const s = new URL(location.href).searchParams.get("sweep"); return s && s !== old; }, id, { timeout: 120_000 });
    const filled = new URL(page.url()).searchParams.get("sweep")!;
    const deadline = Date.now() + 240_000;
    while (store.sweep(filled)?.status !== "completed") {
      expect(Date.now(), `fill-in ${filled} did not complete`).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 500));
    }
    const row = store.sweep(filled)!;
    expect(row.done_cells).toBe(N * N);
    expect("sampling" in row.spec).toBe(false);
    expect(store.fields(filled).inferred).toBeUndefined(); // every cell trained
    const before = store.loadField(id, "score"), after = store.loadField(filled, "score");
    for (let c = 0; c < N * N; c++) if (!inferred[c]) expect(after[c]).toBe(before[c]); // the trained cells' bits
  }, 400_000);
});
