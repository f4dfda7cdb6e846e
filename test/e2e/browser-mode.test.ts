// End to end: a real sweep trained by the agent (through the CLI) into a real database, served by browser mode
// and driven in headless Chromium (swiftshader WebGL2). Screenshots go to test-artifacts/ui/.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { colourLayer } from "../../src-main/analysis/colour";
import { fractalDimension } from "../../src-main/analysis/dimension";
import { layerMask } from "../../src-main/analysis/map";
import { sweepMap } from "../../src-main/core/sweep-maps";
import { cellHparams, coarseToFine } from "../../src-shared/grid";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";
import { REPO_ROOT } from "../../src-main/core/local-transport";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { formatFixed, formatSig } from "../../src-renderer/ticks";
import { screenToWorld, type View, worldToScreen } from "../../src-renderer/view";
import { startSshFixture, type SshFixture } from "../ssh/harness";
import { ARTIFACTS, cellOnPage, glDrawn, launchChromium, type PageView, pixel, settled as settledPage, shot as pageShot, viewState as pageViewState, run, shiftDrag } from "./page";
import { stopAgentDaemon } from "../core/helpers";

const PYTHON = "/usr/bin/python3";
const N = 24;
const SPEC = {
  version: 1, name: "e2e tanh width 4",
  model: { family: "mlp", width: 4, activation: "tanh", seed: 0 },
  train: { optimizer: "gd", steps: 100 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: N }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: N } },
};

let sshFx: SshFixture;
let dir: string, dbPath: string, server: WebServer, browser: Browser, page: Page, store: Store, rootId: string;

const shot = (name: string) => pageShot(page, name);

const viewState = () => pageViewState(page);
const settled = () => settledPage(page);

/** Back to the whole root map (the 0 key), so each test starts from the same view. */
async function homeView(): Promise<void> {
  await page.mouse.move(2, 2);
  await page.keyboard.press("0");
  await settled();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "fractal-e2e-"));
  dbPath = join(dir, "sweeps.sqlite");
  const specPath = join(dir, "spec.json");
  writeFileSync(specPath, JSON.stringify(SPEC));
  const env = { FRACTAL_AGENT_HOME: join(dir, "agent-home") };
  process.env.FRACTAL_AGENT_HOME = env.FRACTAL_AGENT_HOME; // the server's zoom sweeps use the same agent home
  // The UI was built by test/build-ui.ts (vitest globalSetup).
  const sweep = await run(process.execPath, ["bin/fractal-llm.js", "sweep", "--spec", specPath, "--target", "local", "--python", PYTHON, "--db", dbPath], env);
  expect(sweep.code, sweep.stderr).toBe(0);
  rootId = sweep.stdout.trim().split("\n").pop()!;
  // The host manager reads a temp HOME whose ~/.ssh/config names a real sshd (test/ssh/harness.ts).
  sshFx = await startSshFixture({ alias: "e2e-gpu" });
  server = await startWebServer({ dbPath, port: 0, open: false, python: PYTHON, home: sshFx.home, trustFile: sshFx.trustFile });
  store = openStore(dbPath);
  browser = await launchChromium();
  // a context of its own, so a test can open a second tab of the same browser session
  page = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  page.on("console", (m) => { if (m.type() === "error") process.stderr.write(`page console: ${m.text()}\n`); });
  await page.goto(server.url);
  await page.waitForFunction(() => new URL(location.href).searchParams.has("view"));
  await glDrawn(page);
  await settled();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.service.idle();
  await server?.close();
  await sshFx?.stop();
  store?.close();
  await stopAgentDaemon(join(dir, "agent-home")); // the local agent daemon this test started, waited for
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("browser mode", () => {
  it("refuses a client without the token, with a reason", async () => {
    const wsUrl = `ws://127.0.0.1:${server.port}/api`;
    for (const url of [wsUrl, `${wsUrl}?token=wrong`]) {
      const closed = await new Promise<{ code: number; reason: string }>((res) => {
        const ws = new WebSocket(url);
        ws.on("close", (code, reason) => res({ code, reason: reason.toString() }));
      });
      expect(closed.code).toBe(4401);
      expect(closed.reason).toMatch(/token/);
    }
    // The page took the token out of its address bar and keeps it in this tab's sessionStorage (reloads, reconnects).
    expect(page.url()).not.toContain("token=");
    expect(await page.evaluate(() => sessionStorage.getItem("fractal-llm-token"))).toBe(server.token);
    // A view's link pasted into another tab of the same browser opens that view without the token (the HttpOnly
    // cookie the first load set, which no script can read); another browser profile is refused, as is a page of
    // another origin that carries the cookie.
    const link = page.url();
    const tab = await page.context().newPage();
    await tab.goto(link);
    await expect.poll(() => tab.locator("[data-testid=breadcrumb]").textContent()).toContain(SPEC.name);
    expect(new URL(tab.url()).searchParams.get("view")).toBe(new URL(link).searchParams.get("view"));
    expect(await tab.evaluate(() => document.cookie)).toBe("");
    await tab.close();
    const profile = await browser.newContext();
    const other = await profile.newPage();
    await other.goto(link);
    await expect.poll(() => other.locator("[data-testid=connection-error]").textContent()).toMatch(/wrong token/);
    await profile.close();
    const cookie = `fractal-llm-token-${server.port}=${server.token}`;
    const foreign = await new Promise<string>((res) => {
      const ws = new WebSocket(wsUrl, { headers: { cookie, origin: "http://127.0.0.1:1" } });
      ws.on("unexpected-response", (_req, r) => res(`refused ${r.statusCode}`));
      ws.on("open", () => { ws.close(); res("opened"); });
    });
    expect(foreign).toBe("refused 403");
  });

  /** Every cell of the root on `img` in the paper's score colouring, as the analysis code colours the store's map. */
  function expectScoreColours(img: Awaited<ReturnType<typeof shot>>, st: PageView): void {
    const expected = colourLayer(sweepMap(store, rootId), "score").rgba;
    const win = store.sweep(rootId)!.window;
    for (let iy = 0; iy < N; iy++) {
      for (let ix = 0; ix < N; ix++) {
        const i = iy * N + ix;
        const p = cellOnPage(st, win, N, ix, iy);
        const [r, g, b] = pixel(img, p.x, p.y);
        for (const [got, want] of [[r, expected[4 * i]], [g, expected[4 * i + 1]], [b, expected[4 * i + 2]]]) {
          expect(Math.abs(got - want), `cell (${ix},${iy}) rgb ${[r, g, b]} vs ${expected.slice(4 * i, 4 * i + 3)}`).toBeLessThanOrEqual(3);
        }
      }
    }
  }

  it("opens the most recent sweep and draws converged cells blue, diverged red, in the paper's colours", async () => {
    const img = await shot("01-map");
    const map = sweepMap(store, rootId);
    const win = store.sweep(rootId)!.window;
    const st = await viewState();
    expectScoreColours(img, st);
    // The trainable layer: blue where the database says the cell converged, red where it diverged.
    await page.locator("[data-testid=layer]").selectOption("trainable");
    await page.waitForTimeout(500);
    const bin = await shot("01b-trainable");
    let trainable = 0, untrainable = 0;
    for (let iy = 0; iy < N; iy++) {
      for (let ix = 0; ix < N; ix++) {
        const p = cellOnPage(st, win, N, ix, iy);
        const [r, , b] = pixel(bin, p.x, p.y);
        if (map.trainable[iy * N + ix]) { trainable++; expect(b - r).toBeGreaterThan(100); } else { untrainable++; expect(r - b).toBeGreaterThan(100); }
      }
    }
    expect(trainable).toBeGreaterThan(20); // the spec's range shows both outcomes
    expect(untrainable).toBeGreaterThan(20);
    await page.locator("[data-testid=layer]").selectOption("score");
    await page.waitForTimeout(300);
  });

  it("draws the first frame on a 2-D canvas while three.js loads, in the same colours, then hands over to WebGL", async () => {
    // The WebGL map's chunk is held back until the 2-D frame has been checked (on a fast machine it would
    // otherwise replace the 2-D canvas before anyone could look at it).
    const p2 = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    await p2.route(/\/assets\/GlMap-[^/]*\.js$/, async (route) => { await held; await route.continue(); });
    await p2.goto(`${server.url}&sweep=${rootId}`);
    await p2.locator("[data-testid=map-preview-2d]").waitFor();
    await expect.poll(() => p2.evaluate(() => Object.keys((globalThis as any).__fractalPerf.firstFrame))).toContain(rootId);
    expect(await p2.locator("[data-testid=map] canvas").count()).toBe(1); // the 2-D one: no WebGL canvas yet
    expectScoreColours(await pageShot(p2, "01c-first-frame-2d"), await pageViewState(p2));
    release();
    await p2.locator("[data-testid=map-preview-2d]").waitFor({ state: "detached", timeout: 60_000 });
    await p2.waitForTimeout(500);
    expectScoreColours(await pageShot(p2, "01d-after-handover"), await pageViewState(p2));
    await p2.close();
  }, 120_000);

  it("shows the sweep's fractal dimension with its log-log plot, and draws the edge of stability over the map", async () => {
    // The panel measures the sweep the page has open (the root): the value the service and the analysis code give.
    const want = await server.service.getAnalysis(rootId, { layer: "trainable", sequence: true });
    const direct = fractalDimension(layerMask(sweepMap(store, rootId), "trainable"));
    const paper = want.levels[0].paper;
    if (!paper.ok) throw new Error(`the e2e sweep should have a measurable boundary: ${paper.reason}`);
    expect(paper.value).toEqual(JSON.parse(JSON.stringify(direct))); // as JSON: the API sends a zero slope as 0, not -0
    await expect.poll(() => page.locator("[data-testid=analysis-dimension]").textContent()).toBe(direct.dimension.toFixed(3));
    expect(await page.locator("[data-testid=analysis-plot] svg circle").count()).toBe(direct.sizes.length);
    const law = want.powerLaw;

    // Overlay off, then on, over the trainable layer (red / blue, so the white boundary stands out).
    await homeView();
    await page.locator("[data-testid=layer]").selectOption("trainable");
    await page.waitForTimeout(500);
    expect(await page.locator("[data-testid=edge-overlay]").count()).toBe(0);
    const off = await shot("10-edge-overlay-off");
    await page.locator("[data-testid=edge-overlay-toggle]").check();
    await expect.poll(() => page.locator("[data-testid=edge-boundary]").getAttribute("d")).toMatch(/^M[\d.\- ]+L/);
    const on = await shot("10-edge-overlay-on");
    expect(await page.locator("[data-testid=edge-legend]").textContent()).toContain(
      law.ok ? `(95% CI ${formatSig(law.value.exponentCI[0], 3)} … ${formatSig(law.value.exponentCI[1], 3)})` : `no power law: ${law.reason}`);
    if (law.ok) expect(await page.locator("[data-testid=edge-powerlaw]").getAttribute("d")).toMatch(/^M/);
    expect(await page.locator("[data-testid=edge-points]").getAttribute("d")).toMatch(/^M/);

    // Each boundary segment lies between trainable and untrainable cells (of the 2x2 cells around its midpoint,
    // both outcomes); at its midpoint the overlay turns the red or blue cell colour white.
    const st = await viewState();
    const vp = { width: Math.round(st.box.width), height: Math.round(st.box.height) };
    const map = sweepMap(store, rootId);
    const win = store.sweep(rootId)!.window, cw = (win.x1 - win.x0) / N, ch = (win.y1 - win.y0) / N;
    const cellOf = (x: number, y: number) => Math.floor((y - win.y0) / ch) * N + Math.floor((x - win.x0) / cw);
    const legend = (await page.locator("[data-testid=edge-legend]").boundingBox())!;
    const underLegend = (x: number, y: number) => x >= legend.x - 2 && x <= legend.x + legend.width + 2 && y >= legend.y - 2 && y <= legend.y + legend.height + 2;
    // ... and away from the dashed black power-law curve, which is drawn over it.
    const curve = (law.ok ? law.value.curve : []).map(([x, y]) => worldToScreen(st.view, vp, x, y));
    const nearCurve = (x: number, y: number) => curve.some((a, i) => {
      const b = curve[i + 1];
      if (!b) return false;
      const dx = b.px - a.px, dy = b.py - a.py, px = x - st.box.x - a.px, py = y - st.box.y - a.py;
      const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy || 1)));
      return Math.hypot(px - t * dx, py - t * dy) < 5;
    });
    let checked = 0;
    for (const line of want.boundary) {
      for (let k = 1; k < line.points.length; k++) {
        const [x0, y0] = line.points[k - 1], [x1, y1] = line.points[k];
        const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
        const around = [[-1, -1], [1, -1], [-1, 1], [1, 1]].map(([dx, dy]) => map.trainable[cellOf(mx + 0.45 * dx * cw, my + 0.45 * dy * ch)]);
        expect(new Set(around).size, `segment ${[x0, y0]} -> ${[x1, y1]}`).toBe(2);
        const s = worldToScreen(st.view, vp, mx, my);
        const px = st.box.x + s.px, py = st.box.y + s.py;
        if (underLegend(px, py) || nearCurve(px, py)) continue;
        const [r0, g0, b0] = pixel(off, px, py), [r1, g1, b1] = pixel(on, px, py);
        expect(Math.min(r0, g0, b0), `off at ${px},${py}`).toBeLessThan(120);
        expect(Math.min(r1, g1, b1) - Math.min(r0, g0, b0), `on at ${px},${py}`).toBeGreaterThan(100);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);

    // The overlay follows the view: zoomed in, the same boundary vertex is still on the white line.
    const v = want.boundary[0].points[Math.floor(want.boundary[0].points.length / 2)];
    const at = worldToScreen(st.view, vp, v[0], v[1]);
    await page.mouse.move(st.box.x + at.px, st.box.y + at.py);
    for (let k = 0; k < 6; k++) await page.mouse.wheel(0, -200);
    await settled();
    const z = await viewState();
    const zoomed = await shot("10-edge-overlay-zoomed");
    const zs = worldToScreen(z.view, vp, v[0], v[1]);
    expect(Math.min(...pixel(zoomed, z.box.x + zs.px, z.box.y + zs.py))).toBeGreaterThan(160);

    await page.locator("[data-testid=edge-overlay-toggle]").uncheck();
    await page.locator("[data-testid=layer]").selectOption("score");
    // The map's keys ignore a focused form control: leave the checkbox, and the whole map in view, as found.
    await page.locator("[data-testid=edge-overlay-toggle]").blur();
    await homeView();
  });

  it("shows the hovered cell's exact hyperparameters and outcome", async () => {
    await homeView();
    const spec = store.sweep(rootId)!.spec, win = store.sweep(rootId)!.window;
    const tr = store.loadField(rootId, "trainable");
    const st = await viewState();
    for (const [ix, iy] of [[3, 2], [20, 21], [11, 12]]) {
      const p = cellOnPage(st, win, N, ix, iy);
      await page.mouse.move(p.x, p.y);
      const readout = page.locator("[data-testid=readout]");
      await expect.poll(() => readout.getAttribute("data-cell")).toBe(String(iy * N + ix));
      await expect.poll(() => readout.getAttribute("data-trainable")).toBe(String(tr[iy * N + ix]));
      const hp = cellHparams(spec, iy * N + ix);
      expect(await page.locator("[data-testid=readout-x]").textContent()).toBe(String(hp["lr.input"]));
      expect(await page.locator("[data-testid=readout-y]").textContent()).toBe(String(hp["lr.output"]));
    }
    await shot("02-hover");
  });

  it("zooms at the cursor with the wheel, pans by dragging, and goes home with 0", async () => {
    await homeView();
    const before = await viewState();
    const at = { x: before.box.x + 300, y: before.box.y + 200 };
    await page.mouse.move(at.x, at.y);
    for (let k = 0; k < 10; k++) await page.mouse.wheel(0, -200);
    await settled();
    const z = await viewState();
    expect(z.view.sx).toBeLessThan(before.view.sx / 5);
    // the world point under the cursor did not move
    const vp = (b: PageView["box"]) => ({ width: Math.round(b.width), height: Math.round(b.height) });
    const w0 = screenToWorld(before.view, vp(before.box), at.x - before.box.x, at.y - before.box.y);
    const w1 = screenToWorld(z.view, vp(z.box), at.x - z.box.x, at.y - z.box.y);
    expect(Math.abs(w1.x - w0.x) / z.view.sx).toBeLessThan(0.01);
    expect(Math.abs(w1.y - w0.y) / z.view.sy).toBeLessThan(0.01);
    await shot("03-zoomed");
    await page.mouse.move(at.x, at.y);
    await page.mouse.down();
    await page.mouse.move(at.x + 60, at.y + 40, { steps: 5 });
    await page.mouse.up();
    await settled();
    const p = await viewState();
    expect(p.view.cx).toBeCloseTo(z.view.cx - 60 * z.view.sx, 9);
    expect(p.view.cy).toBeCloseTo(z.view.cy + 40 * z.view.sy, 9);
    expect(p.view.sx).toBe(z.view.sx);
    await page.keyboard.press("[");
    await settled();
    expect((await viewState()).view).toEqual(z.view); // back through the history
    await page.keyboard.press("0");
    await settled();
    const h = await viewState();
    expect(h.view.sx).toBeCloseTo(before.view.sx, 12);
    expect(h.view.cx).toBeCloseTo(before.view.cx, 12);
  });

  it("keeps a named bookmark of a view in the database and opens it again, after a reload too", async () => {
    await homeView();
    const box = (await viewState()).box;
    await page.mouse.move(box.x + 200, box.y + 150);
    for (let k = 0; k < 6; k++) await page.mouse.wheel(0, -200);
    await settled();
    const kept = (await viewState()).view;
    await page.locator("[data-testid=bookmarks-section] summary").click();
    await page.locator("[data-testid=bookmark-name]").fill("e2e corner");
    await page.locator("[data-testid=bookmark-keep]").click();
    await expect.poll(() => page.locator("[data-testid=bookmark]").allTextContents()).toEqual([expect.stringContaining("e2e corner")]);
    expect(store.bookmarks().map((b) => [b.name, b.sweep_id, b.cx, b.sx])).toEqual([["e2e corner", rootId, kept.cx, kept.sx]]);
    await homeView();
    expect((await viewState()).view.sx).not.toBe(kept.sx);
    await page.reload();
    await glDrawn(page);
    await page.locator("[data-testid=bookmarks-section] summary").click();
    await page.locator("[data-testid=bookmark-open]").click();
    await settled();
    expect((await viewState()).view).toEqual(kept);
    await page.locator("[data-testid=bookmark-delete]").click();
    await expect.poll(() => page.locator("[data-testid=bookmark]").count()).toBe(0);
    expect(store.bookmarks()).toEqual([]);
    await page.locator("[data-testid=bookmarks-section] summary").click();
  });

  it("zooms ten decades into a cell edge on the boundary and still draws and picks both cells exactly", async () => {
    const root = store.sweep(rootId)!;
    const tr = store.loadField(rootId, "trainable");
    // a row where a trainable cell meets an untrainable one
    let ix = -1, iy = 0;
    for (iy = 0; iy < N && ix < 0; iy++) for (let i = 0; i + 1 < N; i++) if (tr[iy * N + i] !== tr[iy * N + i + 1]) { ix = i; break; }
    iy--;
    expect(ix).toBeGreaterThanOrEqual(0);
    const w = root.window, cw = (w.x1 - w.x0) / N, ch = (w.y1 - w.y0) / N;
    const edge = w.x0 + (ix + 1) * cw; // grid.ts cellEdge
    // Shareable view state: open the sweep with the view centred on the edge, then zoom at the centre pixel.
    const home = (await viewState()).view;
    await page.goto(`${server.url}&sweep=${rootId}&view=${edge},${w.y0 + (iy + 0.5) * ch},${home.sx},${home.sy}`);
    await page.waitForFunction(() => new URL(location.href).searchParams.has("view"));
    await settled();
    let st = await viewState();
    const vp = { width: Math.round(st.box.width), height: Math.round(st.box.height) };
    const centre = { x: st.box.x + vp.width / 2, y: st.box.y + vp.height / 2 };
    expect(Number.isInteger(centre.x)).toBe(true);
    await page.mouse.move(centre.x, centre.y);
    for (let k = 0; k < 80; k++) await page.mouse.wheel(0, -200); // exp(-0.3)^80: 10.4 decades
    await settled();
    st = await viewState();
    expect(Math.log10(home.sx / st.view.sx)).toBeGreaterThan(10);
    expect(st.view.cx).toBe(edge); // the anchor is exact in float64
    const img = await shot("03b-ten-decades");
    const expected = colourLayer(sweepMap(store, rootId), "score").rgba;
    for (const [dx, cell] of [[-3, iy * N + ix], [2, iy * N + ix + 1]]) {
      const px = pixel(img, centre.x + dx, centre.y);
      for (let k = 0; k < 3; k++) expect(Math.abs(px[k] - expected[4 * cell + k]), `pixel ${dx} from the edge`).toBeLessThanOrEqual(3);
      await page.mouse.move(centre.x + dx, centre.y);
      await expect.poll(() => page.locator("[data-testid=readout]").getAttribute("data-cell")).toBe(String(cell));
    }
  });

  it("inspects a clicked cell: outcome, loss curve, grad-norm trace", async () => {
    await homeView();
    const win = store.sweep(rootId)!.window;
    const st = await viewState();
    const p = cellOnPage(st, win, N, 4, 4);
    await page.mouse.click(p.x, p.y);
    const ins = page.locator("[data-testid=inspector]");
    await expect.poll(() => ins.locator("h3").textContent()).toBe("cell (4, 4) #100");
    await expect.poll(() => ins.locator("[data-testid=loss-curve] canvas").count()).toBe(1);
    expect(await ins.locator("[data-testid=grad-curve] canvas").count()).toBe(1);
    await shot("04-inspector");
  });

  it("plots curves with step axes and a hover read-out, and overlays pinned cells' curves", async () => {
    await homeView();
    const win = store.sweep(rootId)!.window;
    const st = await viewState();
    const click = async (ix: number, iy: number) => {
      const p = cellOnPage(st, win, N, ix, iy);
      await page.mouse.click(p.x, p.y);
      await expect.poll(() => page.locator("[data-testid=inspector] h3").textContent()).toMatch(new RegExp(`^cell \\(${ix}, ${iy}\\)`));
    };
    await click(4, 4);
    const loss = page.locator("[data-testid=inspector] [data-testid=loss-curve]");
    await expect.poll(() => loss.getAttribute("data-curves")).toBe("1");
    // the x axis is in steps, and hovering reads every curve's value at the step under the cursor
    expect(await loss.locator(".u-legend .u-series .u-label").first().textContent()).toBe("step");
    await loss.scrollIntoViewIfNeeded();
    const plotBox = (await loss.locator(".u-over").boundingBox())!;
    await page.mouse.move(plotBox.x + plotBox.width * 0.5, plotBox.y + plotBox.height * 0.5);
    const steps = SPEC.train.steps;
    await expect.poll(async () => Number((await loss.locator(".u-legend .u-series").first().locator(".u-value").textContent()) ?? NaN),
      { message: `hover read-out: ${await loss.locator(".u-legend").textContent()}` }).toBeGreaterThan(steps * 0.3);
    expect(Number(await loss.locator(".u-legend .u-series").first().locator(".u-value").textContent())).toBeLessThan(steps * 0.7);
    // pin this cell, click another: both cells' curves, the new one first
    await page.locator("[data-testid=pin-curve]").click();
    await click(20, 3);
    await expect.poll(() => loss.getAttribute("data-curves")).toBe("2");
    const labels = await loss.locator(".u-legend .u-series .u-label").allTextContents();
    expect(labels).toEqual(["step", "cell 20,3", "cell 4,4"]);
    await shot("04-inspector-pinned");
    await page.locator("[data-testid=clear-pins]").click();
    await expect.poll(() => loss.getAttribute("data-curves")).toBe("1");
  });

  it("shift-drag box -> dialog with cost -> a child sweep streams in over its parent", async () => {
    await homeView();
    const root = store.sweep(rootId)!;
    // a box across the boundary: lr.input cells 2..9, lr.output cells 10..15 of the parent
    let st = await viewState();
    const a = cellOnPage(st, root.window, N, 2, 15), b = cellOnPage(st, root.window, N, 9, 10);
    await shiftDrag(page, a, b);
    const dialog = page.locator("[data-testid=zoom-dialog]");
    await dialog.waitFor();
    await page.locator("[data-testid=zoom-points]").fill("16");
    await expect.poll(() => page.locator("[data-testid=zoom-cost]").textContent()).toMatch(/^256 cells, 25600 steps/);
    await shot("05-zoom-dialog");
    await page.locator("[data-testid=zoom-start]").click();
    await dialog.waitFor({ state: "detached" });
    const child = await expect.poll(() => store.sweeps().find((s) => s.parent_id === rootId)?.id ?? null).not.toBeNull()
      .then(() => store.sweeps().find((s) => s.parent_id === rootId)!);
    await expect.poll(() => store.sweep(child.id)!.status, { timeout: 120_000, interval: 500 }).toBe("completed");
    await expect.poll(() => page.locator("[data-testid=breadcrumb]").textContent()).toMatch(/ › zoom [0-9.]+× \(16×16\)$/);
    await page.waitForTimeout(800); // last layer refresh
    const c = store.sweep(child.id)!;
    // the child's window is snapped to the parent's cell edges
    expect(c.window.x0).toBe(root.window.x0 + 2 * ((root.window.x1 - root.window.x0) / N));
    const img = await shot("06-child-over-parent");
    const expected = colourLayer(sweepMap(store, c.id), "score").rgba;
    st = await viewState();
    let differ = 0;
    for (let iy = 0; iy < 16; iy += 3) {
      for (let ix = 0; ix < 16; ix += 3) {
        const i = iy * 16 + ix;
        const p = cellOnPage(st, c.window, 16, ix, iy);
        const px = pixel(img, p.x, p.y);
        for (let k = 0; k < 3; k++) expect(Math.abs(px[k] - expected[4 * i + k])).toBeLessThanOrEqual(3);
        differ++;
      }
      // hovering the child's area reads the child's cell (finest on top)
    }
    expect(differ).toBe(36);
    const p = cellOnPage(st, c.window, 16, 5, 5);
    await page.mouse.move(p.x, p.y);
    await expect.poll(() => page.locator("[data-testid=readout]").getAttribute("data-sweep")).toBe(c.id);
  }, 180_000);

  it("colours a zoom on its root's scale with the tree layer: a zoom cell has its parent's colour for the same score", async () => {
    const zoom = store.sweeps().find((s) => s.parent_id === rootId)!;
    await page.goto(`${server.url}&sweep=${zoom.id}`);
    await glDrawn(page);
    await settled();
    await page.locator("[data-testid=layer]").selectOption("scoreTree");
    await expect.poll(() => page.locator("[data-testid=legend-scale]").textContent()).toMatch(/ranked against the root's cells/);
    await settled();
    // a zoom cell drawn in the tree layer has the colour the root's own ranking gives its score
    const zs = store.loadField(zoom.id, "score"), rs = store.loadField(rootId, "score"), rd = store.loadDone(rootId);
    const n = rs.length; // the zoom's cell 0 ranked among the root's cells: the last entry of a one-row map
    const expected = colourLayer({ ...sweepMap(store, rootId), nx: n + 1, ny: 1, score: Float64Array.from([...rs, zs[0]]),
      done: Uint8Array.from([...rd, 1]) }, "score").rgba;
    const st = await viewState();
    const p = cellOnPage(st, zoom.window, zoom.nx, 0, 0, zoom.ny);
    const img = await shot("05-zoom-tree-scale");
    const got = pixel(img, p.x, p.y);
    for (let k = 0; k < 3; k++) expect(Math.abs(got[k] - expected[4 * n + k]), `zoom cell 0: ${got} vs ${expected.slice(4 * n, 4 * n + 3)}`).toBeLessThanOrEqual(6);
    await page.locator("[data-testid=layer]").selectOption("score");
    await expect.poll(() => page.locator("[data-testid=legend-scale]").textContent()).toMatch(/each map ranked among its own cells/);
    await settled(); // left on the zoom, as the shift-drag test left it
  });

  it("shows the zoom path's dimension per level and pooled, for the focused zoom", async () => {
    const child = store.sweeps().find((s) => s.parent_id === rootId)!;
    const want = await server.service.getAnalysis(child.id, { layer: "trainable", sequence: true });
    expect(want.levels.map((l) => l.sweepId)).toEqual([rootId, child.id]);
    const text = (c: (typeof want.levels)[number]["paper"]) => (c.ok ? c.value.dimension.toFixed(3) : "—");
    const seq = want.sequence!;
    const line = page.locator("[data-testid=analysis-sequence-dimension]");
    const ci = want.sequenceCi === null ? "" : want.sequenceCi.ok
      ? ` 95% CI [${formatFixed(want.sequenceCi.value[0], 2)}, ${formatFixed(want.sequenceCi.value[1], 2)}]` : ` (no interval: ${want.sequenceCi.reason})`;
    await expect.poll(() => line.textContent()).toBe(`project's method pooled over the zoom path (2 levels): `
      + `${seq.ok ? seq.value.dimension.toFixed(3) + ci : `not measurable: ${seq.reason}`} · per level ${want.levels.map((l) => text(l.paper)).join(", ")}`);
    // one series per measurable level in the log-log plot
    const series = want.levels.filter((l) => l.paper.ok).length;
    expect(await page.locator("[data-testid=analysis-plot] svg text", { hasText: /^level \d: D = / }).count()).toBe(series);
    await page.locator("[data-testid=analysis]").screenshot({ path: join(ARTIFACTS, "11-analysis-zoom-path.png") });
  });

  it("fills a sweep that is still streaming coarse first: a cell not done shows its coarse grid point", async () => {
    // A copy of the agent's results holding only the first coarse-to-fine level (stride 2^top = 4 on 24 points),
    // ingested into a new sweep as the tiles of a sweep in progress.
    const root = store.sweep(rootId)!;
    const { order, levels } = coarseToFine(N, N);
    const coarse = Array.from(order.subarray(0, levels.indexOf(1)));
    expect(coarse.every((c) => (c % N) % 4 === 0 && Math.floor(c / N) % 4 === 0)).toBe(true);
    const spec = { ...root.spec, name: "e2e streaming" };
    store.createSweep({ id: "streaming", spec, target: "local" });
    const pick = (name: string) => Float64Array.from(coarse, (c) => store.loadField(rootId, name)[c]);
    store.ingest("streaming", "e2e", [{
      seq: 1, type: "tile", sweep: "streaming", level: 0, count: coarse.length, curves: null,
      fields: {
        cell: encodeCells(coarse), score: encodeArray(pick("score"), "<f8"), final_loss: encodeArray(pick("final_loss"), "<f8"),
        trainable: encodeArray(Uint8Array.from(pick("trainable")), "|u1"), stable: encodeArray(Uint8Array.from(pick("stable")), "|u1"),
      },
    }]);
    await page.goto(`${server.url}&sweep=streaming`);
    await page.waitForFunction(() => new URL(location.href).searchParams.get("sweep") === "streaming");
    await settled();
    const st = await viewState();
    const img = await shot("08-coarse-first");
    const expected = colourLayer(sweepMap(store, "streaming"), "score").rgba;
    for (const [ix, iy] of [[5, 6], [13, 2], [22, 19], [3, 11]]) {
      const g = (Math.floor(iy / 4) * 4) * N + Math.floor(ix / 4) * 4; // its coarse grid point
      const px = pixel(img, ...Object.values(cellOnPage(st, root.window, N, ix, iy)) as [number, number]);
      for (let k = 0; k < 3; k++) expect(Math.abs(px[k] - expected[4 * g + k])).toBeLessThanOrEqual(3);
    }

    // The next level streams in while the page is open: only those cells travel (getLayerDelta) and only the
    // texture rows they touch are uploaded; the trainable layer's values are exact, so the pixels must match.
    await page.locator("[data-testid=layer]").selectOption("trainable");
    await settled();
    const next = Array.from(order.subarray(levels.indexOf(1), levels.indexOf(1) + 40));
    const pickNext = (name: string) => Float64Array.from(next, (c) => store.loadField(rootId, name)[c]);
    store.ingest("streaming", "e2e", [{
      seq: 2, type: "tile", sweep: "streaming", level: 0, count: next.length, curves: null,
      fields: {
        cell: encodeCells(next), score: encodeArray(pickNext("score"), "<f8"), final_loss: encodeArray(pickNext("final_loss"), "<f8"),
        trainable: encodeArray(Uint8Array.from(pickNext("trainable")), "|u1"), stable: encodeArray(Uint8Array.from(pickNext("stable")), "|u1"),
      },
    }]);
    await page.waitForFunction(() => ((globalThis as any).__fractalPerf.patchTexels.streaming ?? 0) > 0, null, { timeout: 10_000 });
    await settled();
    const patched = await page.evaluate(() => (globalThis as any).__fractalPerf.patchTexels.streaming as number);
    expect(patched).toBeLessThan(2 * N * N); // rows touched, not the whole mip chain again and again
    const img2 = await shot("08b-streamed-delta");
    const trainable = colourLayer(sweepMap(store, "streaming"), "trainable").rgba;
    for (const c of next.slice(0, 12)) {
      const px = pixel(img2, ...Object.values(cellOnPage(st, root.window, N, c % N, Math.floor(c / N))) as [number, number]);
      for (let k = 0; k < 3; k++) expect(Math.abs(px[k] - trainable[4 * c + k])).toBeLessThanOrEqual(3);
    }
    await page.locator("[data-testid=layer]").selectOption("score");
    await page.goto(`${server.url}&sweep=${rootId}`);
    await settled();
  });

  it("renders the 3-D loss surface with a red plateau of diverged cells", async () => {
    await page.locator("[data-testid=mode-surface]").click();
    await expect.poll(() => page.locator("[data-testid=surface-status]").textContent()).toMatch(/vertices/);
    await page.waitForTimeout(500);
    const img = await shot("07-surface");
    const box = (await page.locator("[data-testid=surface]").boundingBox())!;
    let red = 0, other = 0;
    for (let y = box.y + 40; y < box.y + box.height - 40; y += 4) {
      for (let x = box.x + 10; x < box.x + box.width - 10; x += 4) {
        const [r, g, b] = pixel(img, x, y);
        if (r > 120 && g < 90 && b < 110) red++;
        else if (Math.abs(r - 0x20) + Math.abs(g - 0x24) + Math.abs(b - 0x2b) > 30 && !(r < 10 && g < 10 && b < 10)) other++;
      }
    }
    expect(red).toBeGreaterThan(100);
    expect(other).toBeGreaterThan(100);
    await page.locator("[data-testid=mode-map]").click();
  });

  it("gives the 3-D view axes in hyperparameter units, a legend, its own keys, a framed surface for every height and a camera reset", async () => {
    await page.locator("[data-testid=mode-surface]").click();
    await expect.poll(() => page.locator("[data-testid=surface-status]").textContent()).toMatch(/vertices/);
    await expect.poll(() => page.locator("[data-testid=footer-keys]").textContent()).toMatch(/orbit.*0: reset the camera/);
    const box = (await page.locator("[data-testid=surface]").boundingBox())!;
    const inside = async (testid: string) => {
      const all = await page.locator(`[data-testid=${testid}]`).all();
      expect(all.length).toBeGreaterThan(0);
      for (const l of all) {
        const b = (await l.boundingBox())!;
        expect(b.x >= box.x && b.x + b.width <= box.x + box.width && b.y >= box.y && b.y + b.height <= box.y + box.height,
          `${testid} "${await l.textContent()}" at ${JSON.stringify(b)} outside the view ${JSON.stringify(box)}`).toBe(true);
      }
      return Promise.all(all.map((l) => l.textContent()));
    };
    // the sweep's axes by name, with ticks in their units (log axes from 0.1 to 1000)
    const xs = await inside("surface-label-x"), ys = await inside("surface-label-y");
    expect(xs).toContain("lr.input");
    expect(ys).toContain("lr.output");
    expect(xs.filter((t) => t !== "lr.input").map(Number).every((v) => v >= 0.1 && v <= 1000)).toBe(true);
    expect(await inside("surface-label-z")).toContain("final loss");
    await expect.poll(() => page.locator("[data-testid=surface-legend]").textContent()).toMatch(/final loss \(log scale\).*diverged/);

    /** Pixels of the middle half of the view that are not its background: the surface is on screen. */
    const surfacePixels = (img: Awaited<ReturnType<typeof shot>>) => {
      let n = 0;
      for (let y = box.y + box.height / 4; y < box.y + box.height * 3 / 4; y += 4) {
        for (let x = box.x + box.width / 4; x < box.x + box.width * 3 / 4; x += 4) {
          const [r, g, b] = pixel(img, x, y);
          if (Math.abs(r - 0x20) + Math.abs(g - 0x24) + Math.abs(b - 0x2b) > 30) n++;
        }
      }
      return n;
    };
    for (const height of ["heldoutLoss", "score", "finalLoss"]) {
      await page.locator(".surface-metric select").selectOption(height);
      await page.waitForTimeout(800);
      const img = await shot(`07-surface-${height}`);
      expect(surfacePixels(img), height).toBeGreaterThan(200);
    }
    const framed = await shot("07-surface-framed");
    // orbit away, then 0 puts the camera back where it framed the surface
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 180, box.y + box.height / 2 - 60, { steps: 8 });
    await page.mouse.up();
    await page.waitForTimeout(300);
    const moved = await shot("07-surface-orbited");
    const differ = (a: typeof framed, b: typeof framed) => {
      let n = 0;
      for (let i = 0; i < a.data.length; i += 4 * 7) if (Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) > 20) n++;
      return n;
    };
    expect(differ(framed, moved)).toBeGreaterThan(1000);
    await page.mouse.move(2, 2);
    await page.keyboard.press("0");
    await page.waitForTimeout(300);
    expect(differ(framed, await shot("07-surface-reset"))).toBeLessThan(50);
    await page.locator("[data-testid=mode-map]").click();
  });

  it("starts a sweep from the editor (live cost, errors naming the field), then renames, tags and deletes it in the library", async () => {
    await page.locator("[data-testid=tab-editor]").click();
    await page.locator("[data-testid=editor-preset]").selectOption({ label: "SFT: LR x warmup" });
    await expect.poll(() => page.locator("[data-testid=editor-cost]").textContent()).toMatch(/^512 cells/);
    const small = { ...SPEC, name: "e2e from editor", axes: { x: { ...SPEC.axes.x, points: 4 }, y: { ...SPEC.axes.y, points: 0 } } };
    await page.locator("[data-testid=editor-advanced]").click(); // the JSON view, beside the form
    await page.locator("[data-testid=editor-spec]").fill(JSON.stringify(small));
    // the JSON view lists the problems (editor-json-errors); a server-only one would come as editor-error
    await expect.poll(async () => (await page.locator("[data-testid=editor-json-errors], [data-testid=editor-error]").allTextContents()).join(" "))
      .toMatch(/axes\.y\.points/);
    small.axes.y.points = 4;
    await page.locator("[data-testid=editor-spec]").fill(JSON.stringify(small));
    await expect.poll(() => page.locator("[data-testid=editor-cost]").textContent()).toMatch(/^16 cells, 1600 steps/);
    await page.locator("[data-testid=editor-start]").click();
    await expect.poll(() => page.locator("[data-testid=breadcrumb]").textContent()).toBe("e2e from editor");
    const made = store.sweeps().find((s) => s.name === "e2e from editor")!;
    await expect.poll(() => store.sweep(made.id)!.status, { timeout: 60_000, interval: 500 }).toBe("completed");
    await shot("09-editor-sweep");

    await page.locator("[data-testid=tab-library]").click();
    const row = page.locator(`[data-testid=library-row][data-id="${made.id}"]`);
    // Rename, tag and delete in place: a browser prompt() or confirm() would fail this test (nothing accepts it).
    const dialogs: string[] = [];
    const onDialog = (d: { message(): string; dismiss(): Promise<void> }) => { dialogs.push(d.message()); void d.dismiss(); };
    page.on("dialog", onDialog);
    await row.locator("[data-testid=sweep-rename]").click();
    await row.locator("[data-testid=sweep-edit]").fill("renamed in library");
    await row.locator("[data-testid=sweep-edit]").press("Enter");
    await expect.poll(() => store.sweep(made.id)?.name).toBe("renamed in library");
    await row.locator("[data-testid=sweep-tag]").click();
    await row.locator("[data-testid=sweep-edit]").fill("tiny, e2e");
    await row.locator("[data-testid=sweep-edit-save]").click();
    await expect.poll(() => row.locator(".tag").allTextContents()).toEqual(["e2e", "tiny"]);
    await page.locator("[data-testid=library-search]").fill("tiny");
    await expect.poll(() => page.locator("[data-testid=library-row]").count()).toBe(1);
    await page.locator("[data-testid=library-search]").fill("");
    await row.locator("[data-testid=sweep-delete]").click();
    await row.getByRole("button", { name: "keep" }).click(); // asked, and kept
    expect(store.sweep(made.id)).toBeDefined();
    await row.locator("[data-testid=sweep-delete]").click();
    await row.locator("[data-testid=sweep-delete-confirm]").click();
    // The delete asks the local agent first (it may start one): seconds on a loaded machine, not the 1 s default.
    await expect.poll(() => store.sweep(made.id), { timeout: 30_000, interval: 200 }).toBeUndefined();
    page.off("dialog", onDialog);
    expect(dialogs).toEqual([]);
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
  }, 120_000);

  it("lists sweeps in a runs table: zooms under their parent, sorted and filtered, renamed and tagged in place", async () => {
    await page.locator("[data-testid=tab-library]").click();
    await page.locator("[data-testid=library-as-table]").click();
    const table = page.locator("[data-testid=runs-table]");
    const rowIds = async () => table.locator("[data-testid=run-row]").evaluateAll((rs) => rs.map((r) => `${r.getAttribute("data-depth")}:${r.getAttribute("data-id")}`));
    const zoom = store.sweeps().find((s) => s.parent_id === rootId)!;
    expect(zoom, "the shift-drag test made a zoom of the root").toBeTruthy();
    for (const col of ["started", "cells", "name"]) {
      await table.locator(`[data-testid=runs-sort-${col}]`).click();
      const ids = await rowIds();
      expect(ids.indexOf(`1:${zoom.id}`), `sorted by ${col}: ${ids}`).toBe(ids.indexOf(`0:${rootId}`) + 1); // the zoom right under its map
    }
    expect(await table.locator("[data-testid=runs-sort-name]").getAttribute("aria-sort")).toBe("ascending");
    await page.locator("[data-testid=runs-filter]").fill("streaming");
    await expect.poll(rowIds).toEqual(["0:streaming"]);
    const row = table.locator('[data-testid=run-row][data-id="streaming"]');
    await row.locator("[data-testid=run-rename]").click();
    await row.locator("[data-testid=run-edit]").fill("streaming, renamed in the table");
    await row.locator("[data-testid=run-edit]").press("Enter");
    await expect.poll(() => store.sweep("streaming")?.name).toBe("streaming, renamed in the table");
    await row.locator("[data-testid=run-tag]").click();
    await row.locator("[data-testid=run-edit]").fill("table, e2e");
    await row.locator("[data-testid=run-edit-save]").click();
    await expect.poll(() => row.locator(".tag").allTextContents()).toEqual(["e2e", "table"]);
    await row.locator("[data-testid=run-delete]").click();
    await expect.poll(() => row.textContent()).toMatch(/delete it and its zooms\?/);
    await row.getByRole("button", { name: "keep" }).click();
    expect(store.sweep("streaming")).toBeDefined();
    await shot("10-runs-table");
    await page.locator("[data-testid=runs-filter]").fill("");
    await page.locator("[data-testid=library-as-table]").click();
    await page.locator("[data-testid=mode-map]").click();
  });

  it("host manager: lists the ssh config alias, prompts with the SHA256 fingerprint of an unknown key, accept connects", async () => {
    writeFileSync(join(sshFx.home, ".ssh", "known_hosts"), ""); // the harness trusts its sshd; make its key unknown
    const fp = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${sshFx.sshd.hostKey.path}.pub`], { encoding: "utf8" }).split(" ")[1]!;
    await page.locator("[data-testid=tab-hosts]").click();
    const row = page.locator('[data-testid=host-row][data-alias="e2e-gpu"]');
    await expect.poll(() => row.count()).toBe(1);
    await row.locator("[data-testid=host-test]").click();
    await expect.poll(() => row.locator("[data-testid=hostkey-fingerprint]").textContent(), { timeout: 30_000 }).toBe(fp);
    await shot("10-host-key-prompt");
    await row.locator("[data-testid=hostkey-accept]").click();
    await expect.poll(() => row.locator("[data-testid=host-ok]").textContent(), { timeout: 60_000 }).toMatch(/runs with/);
    expect(await row.locator("table.interpreters").textContent()).toMatch(/torch/);
    await shot("11-host-tested");
  }, 120_000);
});
