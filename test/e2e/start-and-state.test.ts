// What a researcher trips over (issue 25), done as they did it, in headless Chromium against browser mode:
//  * the clicked cell is marked on the map, and the mark follows the view;
//  * the read-out describes the cell under the cursor after the view moves under it (keyboard panning);
//  * opening another sweep clears the inspector, even when the clicked cell's details arrive after the switch;
//  * the zoom video flies from the whole map into the view (its decoded frames: first ≠ last, the last like the
//    view) and a notice names the file it was saved as;
//  * "start sweep" shows it is working (busy, disabled, spinner text) until the agent reports, and one click makes
//    one sweep, told apart from others in the library by its id and start time;
//  * the zoom dialog closes at once on "start", a spinner in its place until the zoom is recorded;
//  * `?` lists the keys, Escape closes that list and the zoom dialog.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { pickCell, screenToWorld } from "../../src-renderer/view";
import { journal, mlpSpec, stopAgentDaemon, tempDir } from "../core/helpers";
import { openFromLibrary } from "./drive";
import { ARTIFACTS, cellOnPage, fillMlpSweep, glDrawn, launchChromium, settled, shiftDrag, viewState } from "./page";

const PYTHON = "/usr/bin/python3";
const N = 24;

let dir: string, store: Store, server: WebServer, browser: Browser, page: Page;
/** Server methods held until released (a slow target, a slow read), by name. */
const holds = new Map<string, Promise<void>>();
function hold(method: string): () => void {
  let release!: () => void;
  holds.set(method, new Promise<void>((r) => { release = r; }));
  return () => { holds.delete(method); release(); };
}

beforeAll(async () => {
  dir = tempDir("fractal-start-state-");
  const dbPath = join(dir, "db.sqlite");
  process.env.FRACTAL_AGENT_HOME = join(dir, "agent-home"); // the server's local sweeps
  store = openStore(dbPath);
  const alpha = mlpSpec(N, N, { name: "alpha" }), beta = mlpSpec(16, 16, { name: "beta" });
  store.createSweep({ id: "alpha", spec: alpha, target: "local" });
  store.createSweep({ id: "beta", spec: beta, target: "local" });
  store.ingest("alpha", "local", journal("alpha", alpha, N * N, 96, true));
  store.ingest("beta", "local", journal("beta", beta, 256, 256, true));
  server = await startWebServer({ dbPath, port: 0, open: false, reattach: false, python: PYTHON });
  const svc = server.service as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of ["startSweep", "startZoom", "getCell"]) {
    const real = svc[m].bind(server.service);
    svc[m] = async (...a: unknown[]) => { await holds.get(m); return real(...a); };
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${server.url}&sweep=alpha`);
  await glDrawn(page);
  await settled(page);
}, 180_000);

afterAll(async () => {
  for (const m of [...holds.keys()]) holds.delete(m);
  await browser?.close();
  await server?.service.idle();
  await server?.close();
  store?.close();
  await stopAgentDaemon(join(dir, "agent-home"));
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const win = () => store.sweep("alpha")!.window;

/** The cell of alpha under page point (x, y) on the view the page shows now. */
async function cellUnder(x: number, y: number): Promise<number> {
  const st = await viewState(page);
  const w = screenToWorld(st.view, { width: Math.round(st.box.width), height: Math.round(st.box.height) }, x - st.box.x, y - st.box.y);
  return pickCell(win(), N, N, w.x, w.y)!.index;
}

async function homeView(): Promise<void> {
  await page.mouse.move(2, 2);
  await page.keyboard.press("0");
  await settled(page);
}

describe("the map's state follows what the user did", () => {
  it("marks the clicked cell on the map, and the mark moves with the view", async () => {
    await homeView();
    const p = cellOnPage(await viewState(page), win(), N, 5, 7);
    await page.mouse.click(p.x, p.y);
    await expect.poll(() => page.locator("[data-testid=inspector] h3").textContent()).toContain("cell (5, 7)");
    const marker = page.locator("[data-testid=selected-marker] rect").first();
    const cellPx = (await viewState(page)).box.width; // an upper bound; the real size is compared below
    const b = (await marker.boundingBox())!;
    expect(Math.abs(b.x + b.width / 2 - p.x)).toBeLessThanOrEqual(2);
    expect(Math.abs(b.y + b.height / 2 - p.y)).toBeLessThanOrEqual(2);
    const next = cellOnPage(await viewState(page), win(), N, 6, 7);
    expect(Math.abs(b.width - (next.x - p.x))).toBeLessThanOrEqual(4); // one cell wide
    expect(b.width).toBeLessThan(cellPx);

    await page.mouse.move(2, 2);
    await page.keyboard.press("ArrowRight");
    await settled(page);
    const moved = cellOnPage(await viewState(page), win(), N, 5, 7);
    expect(Math.abs(moved.x - p.x)).toBeGreaterThan(20);
    const b2 = (await marker.boundingBox())!;
    expect(Math.abs(b2.x + b2.width / 2 - moved.x)).toBeLessThanOrEqual(2);
  });

  it("describes the cell under the cursor after the keys pan the view under it", async () => {
    await homeView();
    const p = cellOnPage(await viewState(page), win(), N, 10, 10);
    await page.mouse.move(p.x, p.y);
    const readout = page.locator("[data-testid=readout]");
    await expect.poll(() => readout.getAttribute("data-cell")).toBe(String(10 * N + 10));
    for (const key of ["ArrowLeft", "ArrowUp"]) {
      await page.keyboard.press(key);
      await settled(page);
      const now = await cellUnder(p.x, p.y);
      await expect.poll(() => readout.getAttribute("data-cell")).toBe(String(now));
      await expect.poll(() => page.locator("[data-testid=readout-cell]").textContent()).toBe(`(${now % N}, ${Math.floor(now / N)})`);
    }
    expect(await cellUnder(p.x, p.y)).not.toBe(10 * N + 10);
  });

  it("clears the inspector when another sweep is opened, even if the clicked cell's details arrive after that", async () => {
    await homeView();
    const p = cellOnPage(await viewState(page), win(), N, 3, 3);
    const release = hold("getCell"); // the click's details are slow to come
    await page.mouse.click(p.x, p.y);
    await openFromLibrary(page, "beta");
    await expect.poll(() => new URL(page.url()).searchParams.get("sweep")).toBe("beta");
    release();
    await page.waitForTimeout(800);
    expect(await page.locator("[data-testid=inspector]").count()).toBe(0);
    expect(await page.locator(".inspector").textContent()).toContain("click a cell");
    expect(await page.locator("[data-testid=selected-marker]").count()).toBe(0);
    await openFromLibrary(page, "alpha");
    await glDrawn(page);
    await settled(page);
  });
});

describe("the keys a map viewer is expected to have", () => {
  it("shows every key on ?, and Escape closes that help and the zoom dialog", async () => {
    await homeView();
    await page.keyboard.press("?");
    const help = page.locator("[data-testid=key-help]");
    await help.waitFor();
    for (const k of ["shift-drag", "Escape", "back / forward"]) expect(await help.textContent()).toContain(k);
    await page.keyboard.press("Escape");
    await help.waitFor({ state: "detached" });

    const st = await viewState(page);
    await shiftDrag(page, cellOnPage(st, win(), N, 2, 2), cellOnPage(st, win(), N, 6, 6));
    const dialog = page.locator("[data-testid=zoom-dialog]");
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(store.sweeps().filter((s) => s.parent_id === "alpha")).toHaveLength(0);
  });
});

/** 16x16 block means (RGB) of an image drawn on a canvas in the page: a small picture to compare pictures by. */
type Blocks = number[];
const meanDiff = (a: Blocks, b: Blocks) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe("the zoom video", () => {
  it("flies from the whole map into the view, and says the name of the file it saved", async () => {
    await homeView();
    const st = await viewState(page);
    // Zoom in three key steps about the map's centre, then pan a little off it: the view to fly into.
    await page.mouse.move(st.box.x + st.box.width / 2, st.box.y + st.box.height / 2);
    for (const k of ["+", "+", "+", "ArrowLeft"]) await page.keyboard.press(k);
    await page.mouse.move(2, 2);
    await settled(page);
    const canvas = page.locator("[data-testid=map] canvas").first();
    const png = (await canvas.screenshot({ style: ".tooltip, .hud, .axis, .cell-marker { visibility: hidden !important; }" })).toString("base64");

    const download = page.waitForEvent("download", { timeout: 120_000 });
    await page.locator("[data-testid=zoom-video]").click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("zoom-alpha.webm");
    await expect.poll(() => page.locator("[data-testid=notice]").allTextContents(), { timeout: 10_000 })
      .toContainEqual(expect.stringMatching(/zoom video saved as zoom-alpha\.webm .*downloads folder/));
    const video = readFileSync((await file.path())!).toString("base64");

    const got = await page.evaluate(async ({ video, png }) => {
      const frames: string[] = [];
      const keep = (img: CanvasImageSource, w: number, h: number) => {
        const c = document.createElement("canvas");
        c.width = w; c.height = h;
        c.getContext("2d")!.drawImage(img, 0, 0);
        frames.push(c.toDataURL("image/png"));
      };
      const blocks = (img: CanvasImageSource, w: number, h: number): number[] => {
        keep(img, w, h);
        const c = document.createElement("canvas");
        c.width = 16; c.height = 16;
        const g = c.getContext("2d")!;
        g.imageSmoothingQuality = "high";
        g.drawImage(img, 0, 0, w, h, 0, 0, 16, 16);
        return Array.from(g.getImageData(0, 0, 16, 16).data).filter((_, i) => i % 4 !== 3);
      };
      const bytes = Uint8Array.from(atob(video), (ch) => ch.charCodeAt(0));
      const v = document.createElement("video");
      v.muted = true;
      v.src = URL.createObjectURL(new Blob([bytes], { type: "video/webm" }));
      await new Promise((res, rej) => { v.onloadeddata = res; v.onerror = () => rej(new Error(`cannot decode: ${v.error?.message}`)); });
      const seek = (t: number) => new Promise<void>((res) => { v.onseeked = () => res(); v.currentTime = t; });
      // MediaRecorder writes no duration: seeking far past the end makes the browser find it.
      if (!Number.isFinite(v.duration)) await seek(1e6);
      const duration = v.duration;
      await seek(0);
      const first = blocks(v, v.videoWidth, v.videoHeight);
      await seek(Math.max(0, duration - 0.05));
      const last = blocks(v, v.videoWidth, v.videoHeight);
      const shot = new Image();
      shot.src = `data:image/png;base64,${png}`;
      await shot.decode();
      return { duration, first, last, view: blocks(shot, shot.naturalWidth, shot.naturalHeight), size: [v.videoWidth, v.videoHeight], frames };
    }, { video, png });

    mkdirSync(ARTIFACTS, { recursive: true });
    got.frames.forEach((f, i) => writeFileSync(join(ARTIFACTS, `zoom-video-${["first", "last", "view"][i]}.png`), Buffer.from(f.split(",")[1], "base64")));
    expect(got.duration, "six seconds of zoom and one at the view").toBeGreaterThan(4);
    const firstToLast = meanDiff(got.first, got.last), lastToView = meanDiff(got.last, got.view), firstToView = meanDiff(got.first, got.view);
    expect(firstToLast, "the video moves: its first and last frames differ").toBeGreaterThan(8);
    expect(lastToView, `the last frame is the view flown into (video ${got.duration} s)`).toBeLessThan(12);
    expect(firstToView).toBeGreaterThan(2 * lastToView);
  }, 180_000);
});

describe("starting work shows it is working, and starts it once", () => {
  it("keeps start sweep busy until the agent reports; two clicks make one sweep, told apart by id and time", async () => {
    await fillMlpSweep(page, { target: "local", name: "once", width: 4, lo: -1, hi: 2, points: 4, steps: 20 });
    const button = page.locator("[data-testid=editor-start]");
    await expect.poll(() => button.isEnabled(), { timeout: 30_000 }).toBe(true);
    const release = hold("startSweep"); // opening the target takes a moment
    const b = (await button.boundingBox())!;
    await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
    await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
    expect(await button.isDisabled()).toBe(true);
    expect(await button.getAttribute("aria-busy")).toBe("true");
    expect(await button.textContent()).toBe("starting…");
    expect(await button.locator(".spinner").count()).toBe(1);
    await page.waitForTimeout(1000);
    expect(await button.isDisabled()).toBe(true);
    release();

    const started = page.locator("[data-testid=editor-started]");
    await started.waitFor({ timeout: 30_000 });
    const id = store.sweeps().find((s) => s.name === "once")!.id;
    expect(await started.textContent()).toContain(id);
    // Enabled again only once the agent has reported (running, or cells in).
    await expect.poll(() => button.isEnabled(), { timeout: 120_000, interval: 50 }).toBe(true);
    const row = store.sweep(id)!;
    expect(row.status === "running" || row.status === "completed" || row.done_cells > 0, `status ${row.status}`).toBe(true);
    expect(store.sweeps().filter((s) => s.name === "once")).toHaveLength(1);

    await page.locator("[data-testid=tab-library]").click();
    const lib = page.locator(`[data-testid=library-row][data-id="${id}"]`);
    await lib.waitFor();
    expect(await lib.locator("[data-testid=sweep-id]").textContent()).toBe(id);
    expect(await lib.locator("[data-testid=sweep-created]").textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await expect.poll(() => store.sweep(id)!.status, { timeout: 120_000, interval: 500 }).toBe("completed");
    await page.locator("[data-testid=tab-inspector]").click();
  }, 240_000);

  it("closes the zoom dialog at once on start, with a spinner in its place until the zoom is recorded", async () => {
    await openFromLibrary(page, "alpha");
    await glDrawn(page);
    await homeView();
    const st = await viewState(page);
    await shiftDrag(page, cellOnPage(st, win(), N, 4, 4), cellOnPage(st, win(), N, 9, 9));
    const dialog = page.locator("[data-testid=zoom-dialog]");
    await dialog.waitFor();
    await page.locator("[data-testid=zoom-points]").fill("4");
    await expect.poll(() => page.locator("[data-testid=zoom-cost]").textContent()).toMatch(/^16 cells/);
    const release = hold("startZoom");
    await page.locator("[data-testid=zoom-start]").click();
    expect(await dialog.count()).toBe(0);
    const pending = page.locator("[data-testid=zoom-pending]");
    expect(await pending.isVisible()).toBe(true);
    expect(await pending.textContent()).toMatch(/starting the zoom scan \(4×4\) on local/);
    await page.waitForTimeout(800);
    expect(await pending.isVisible()).toBe(true);
    release();
    await pending.waitFor({ state: "detached", timeout: 30_000 });
    const child = store.sweeps().find((s) => s.parent_id === "alpha")!;
    expect(child).toBeTruthy();
    await expect.poll(() => page.locator("[data-testid=breadcrumb]").textContent()).toMatch(/ › zoom [0-9.]+× \(4×4\)$/);
    await expect.poll(() => store.sweep(child.id)!.status, { timeout: 120_000, interval: 500 }).toBe("completed");
  }, 240_000);
});
