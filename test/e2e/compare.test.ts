// End to end, the compare mode on the shipped demo database in headless Chromium: two sweeps ticked in the runs table
// (the paper MLP's 512^2 root and its first 256^2 zoom) open side by side with their difference; both maps draw, the
// difference's counts are those of the store's trainable fields (the root resampled at the zoom's cell centres), the
// wheel on one map moves both, the link reopens the same comparison, back in the runs table the ticks are kept, and two
// sweeps with other axes are refused a difference with a message. Screenshot: test-artifacts/ui/compare.png.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gridCell, gridCentre } from "../../src-shared/grid";
import { REPO_ROOT } from "../../src-main/core/local-transport";
import { openStore, type Store } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { ARTIFACTS, launchChromium, shot } from "./page";

let dir: string, server: WebServer, browser: Browser, store: Store, page: Page;
let rootId: string, zoomId: string, sftId: string;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "fractal-compare-"));
  copyFileSync(join(REPO_ROOT, "resources", "demo.sqlite"), join(dir, "demo.sqlite"));
  store = openStore(join(dir, "demo.sqlite"));
  const sweeps = store.sweeps();
  rootId = sweeps.find((s) => !s.parent_id && s.spec.model.family === "mlp")!.id;
  zoomId = sweeps.find((s) => s.parent_id === rootId)!.id;
  sftId = sweeps.find((s) => !s.parent_id && s.spec.model.family === "gpt")!.id;
  server = await startWebServer({ dbPath: join(dir, "demo.sqlite"), port: 0, open: false, home: dir, python: "/usr/bin/python3", localAgentHome: join(dir, "agent") });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${server.url}&sweep=${sftId}`); // the small map: the page is ready sooner
  await page.waitForFunction(() => new URL(location.href).searchParams.has("view"), null, { timeout: 120_000 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The four counts from the store: A = the root, B = the zoom; each zoom cell against the root cell holding its centre. */
function expectedCounts() {
  const grid = (id: string) => {
    const s = store.sweeps().find((x) => x.id === id)!;
    const { x, y } = s.spec.axes;
    return { x0: x.range[0], x1: x.range[1], nx: x.points, y0: y.range[0], y1: y.range[1], ny: y.points, t: store.loadField(id, "trainable"), done: store.loadDone(id) };
  };
  const a = grid(rootId), b = grid(zoomId);
  const n = { bothTrain: 0, bothDiverge: 0, onlyA: 0, onlyB: 0 };
  for (let iy = 0; iy < b.ny; iy++) {
    const jy = gridCell(a.y0, a.y1, a.ny, gridCentre(b.y0, b.y1, b.ny, iy));
    for (let ix = 0; ix < b.nx; ix++) {
      const jx = gridCell(a.x0, a.x1, a.nx, gridCentre(b.x0, b.x1, b.nx, ix));
      expect(jx >= 0 && jy >= 0, "the zoom lies inside its parent").toBe(true);
      const ka = jy * a.nx + jx, kb = iy * b.nx + ix;
      expect(a.done[ka] && b.done[kb], "the demo's maps are complete").toBeTruthy();
      const p = a.t[ka] === 1, q = b.t[kb] === 1;
      if (p && q) n.bothTrain++; else if (!p && !q) n.bothDiverge++; else if (p) n.onlyA++; else n.onlyB++;
    }
  }
  return n;
}

/** A canvas's pixels summarised: the share not the background colour, how many distinct colours, and a checksum. */
function canvasStats(testId: string) {
  return page.locator(`[data-testid=${testId}]`).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0, sum = 0;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      const rgb = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      if (rgb !== 0x20242b) painted++;
      if (colours.size < 64) colours.add(rgb);
      sum = (sum * 31 + rgb + i) % 1_000_000_007;
    }
    return { painted: painted / (d.length / 4), colours: colours.size, sum };
  });
}

const drawn = (testId: string) => page.waitForSelector(`[data-testid=${testId}-canvas][data-drawn="1"]`, { timeout: 60_000 });

async function expectCounts(n: ReturnType<typeof expectedCounts>): Promise<void> {
  for (const [id, v] of [["both-train", n.bothTrain], ["both-diverge", n.bothDiverge], ["only-a", n.onlyA], ["only-b", n.onlyB]] as const) {
    await expect.poll(() => page.locator(`[data-testid=compare-count-${id}]`).getAttribute("data-value"), { timeout: 30_000 }).toBe(String(v));
  }
  const differ = n.onlyA + n.onlyB, all = n.bothTrain + n.bothDiverge + differ;
  expect(await page.locator("[data-testid=compare-differ]").getAttribute("data-value")).toBe(String(differ));
  expect(await page.locator("[data-testid=compare-differ]").getAttribute("data-compared")).toBe(String(all));
  expect(Number(await page.locator("[data-testid=compare-boundary]").getAttribute("data-value"))).toBeLessThanOrEqual(differ);
}

describe("compare two sweeps", () => {
  it("ticks two rows in the runs table, shows both maps and their difference, counted as the store's data says", async () => {
    await page.locator("[data-testid=tab-library]").click();
    await page.locator("[data-testid=library-as-table]").click();
    const compare = page.locator("[data-testid=runs-compare]");
    await expect.poll(() => compare.isDisabled()).toBe(true);
    await page.locator(`[data-testid=run-row][data-id=${rootId}] [data-testid=run-pick]`).check();
    expect(await compare.isDisabled(), "one sweep ticked: nothing to compare").toBe(true);
    await page.locator(`[data-testid=run-row][data-id=${zoomId}] [data-testid=run-pick]`).check();
    expect(await compare.isDisabled()).toBe(false);
    await compare.click();

    await page.waitForSelector("[data-testid=compare-view][data-shared=true]");
    expect(await page.locator("[data-testid=breadcrumb]").count(), "no open map's path over the two maps").toBe(0);
    await Promise.all(["compare-a", "compare-b", "compare-diff"].map(drawn));
    expect(await page.locator("[data-testid=compare-a] figcaption").textContent()).toContain("512×512");
    expect(await page.locator("[data-testid=compare-b] figcaption").textContent()).toContain("256×256");
    expect(await page.locator("[data-testid=compare-message]").textContent()).toMatch(/A, the coarser, is resampled onto B's cells by their centres/);
    const n = expectedCounts();
    expect(n.onlyA + n.onlyB, "the two maps differ somewhere (a boundary at two resolutions)").toBeGreaterThan(0);
    await expectCounts(n);
    // Both maps are drawn (score colours, many of them), over most of their panel: the view fits the zoom's window.
    for (const id of ["compare-a-canvas", "compare-b-canvas", "compare-diff-canvas"]) {
      const st = await canvasStats(id);
      expect(st.painted, `${id} is drawn`).toBeGreaterThan(0.5);
      expect(st.colours, `${id} has more than one colour`).toBeGreaterThan(2);
    }
    await shot(page, "compare");
    // The read-out names both maps' cells under the cursor, over any panel.
    const diffBox = (await page.locator("[data-testid=compare-diff] .compare-map").boundingBox())!;
    await page.mouse.move(diffBox.x + diffBox.width / 2, diffBox.y + diffBox.height / 2);
    await expect.poll(() => page.locator("[data-testid=compare-hover]").textContent())
      .toMatch(/lr\.input = [\d.e+-]+, lr\.output = [\d.e+-]+ · A: cell \(\d+, \d+\) (trains|diverges) · B: cell \(\d+, \d+\) (trains|diverges)/);

    // One view: the wheel over A moves B and the difference too, and the link follows.
    const before = Object.assign(await Promise.all(["compare-a-canvas", "compare-b-canvas", "compare-diff-canvas"].map(canvasStats)),
      { vp: await page.locator("[data-testid=compare-a-canvas]").evaluate((c: HTMLCanvasElement) => `${c.width}x${c.height}`) });
    const cview = new URL(page.url()).searchParams.get("cview");
    expect(new URL(page.url()).searchParams.get("compare")).toBe(`${rootId},${zoomId}`);
    const box = (await page.locator("[data-testid=compare-a] .compare-map").boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await page.mouse.wheel(0, -400);
    await expect.poll(() => new URL(page.url()).searchParams.get("cview"), { timeout: 5_000 }).not.toBe(cview);
    const after = await Promise.all(["compare-a-canvas", "compare-b-canvas", "compare-diff-canvas"].map(canvasStats));
    after.forEach((s, i) => expect(s.sum, `panel ${i} drawn again at the new view`).not.toBe(before[i].sum));

    // The link reopens the comparison at that view.
    const link = page.url();
    const zoomed = new URL(link).searchParams.get("cview");
    await page.goto(link);
    await page.waitForSelector("[data-testid=compare-view][data-shared=true]", { timeout: 120_000 });
    await Promise.all(["compare-a", "compare-b", "compare-diff"].map(drawn));
    expect(new URL(page.url()).searchParams.get("cview")).toBe(zoomed);
    await expectCounts(n);
    const vpNow = () => page.locator("[data-testid=compare-a-canvas]").evaluate((c: HTMLCanvasElement) => `${c.width}x${c.height}`);
    await expect.poll(async () => `${await vpNow()} ${(await canvasStats("compare-a-canvas")).sum}`, { timeout: 10_000 })
      .toBe(`${before.vp} ${after[0].sum}`);
  }, 180_000);

  it("with other axes shows the two maps with their own views, says why, and computes no difference", async () => {
    await page.locator("[data-testid=compare-close]").click();
    // Back to the runs table (not the cards), with the two sweeps still ticked.
    await page.waitForSelector("[data-testid=runs-table]");
    expect(new URL(page.url()).searchParams.has("compare"), "leaving the mode drops it from the link").toBe(false);
    const tick = (id: string) => page.locator(`[data-testid=run-row][data-id=${id}] [data-testid=run-pick]`);
    expect(await tick(rootId).isChecked()).toBe(true);
    expect(await tick(zoomId).isChecked()).toBe(true);
    await tick(rootId).uncheck();
    await tick(sftId).check();
    await page.locator("[data-testid=runs-compare]").click();
    await page.waitForSelector("[data-testid=compare-view][data-shared=false]");
    await Promise.all(["compare-a", "compare-b"].map(drawn));
    expect(await page.locator("[data-testid=compare-message]").textContent()).toContain("The axes differ (x: lr.input (log) vs lr (log), y: lr.output (log) vs dataset_size (log))");
    expect(await page.locator("[data-testid=compare-diff]").count()).toBe(0);
    expect(new URL(page.url()).searchParams.has("cview"), "no shared view to keep").toBe(false);
  }, 60_000);
});
