// The whole loop from the app alone, as a researcher would do it, against a real sshd on 127.0.0.1 standing in
// for the GPU node (a fresh account: no agent installed, host key unknown): add the host in the host manager and
// accept its key, start a sweep on it from the editor form, watch the map fill while the SSH connection is cut,
// shift-drag a zoom that runs on the same host, restart the server mid-zoom and see it re-attach, then analyse.
// Headless Chromium against browser mode (the same Api the Electron window gets over IPC).

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { colourLayer } from "../../src-main/analysis/colour";
import { openStore, type Store } from "../../src-main/core/store";
import { sweepMap } from "../../src-main/core/sweep-maps";
import { fingerprint } from "../../src-main/ssh/hostkeys";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { agentJournal } from "../cli/helpers";
import { keygen, startSshd, type Sshd } from "../ssh/harness";
import { ARTIFACTS, cellOnPage, fillMlpSweep, launchChromium, pixel, settled, shiftDrag, shot, viewState } from "./page";
import { stopAgentDaemon } from "../core/helpers";

const PYTHON = "/usr/bin/python3";
const ALIAS = "gpu-box";
const N = 24;

let sshd: Sshd, dir: string, home: string, dbPath: string, server: WebServer, browser: Browser, page: Page, store: Store;
let rootId: string;

const serverOptions = () => ({
  dbPath, port: 0, open: false, home, trustFile: join(home, "trusted_hosts.json"), agentSocket: null,
  localAgentHome: join(dir, "local-agent"),
});

/** Browser mode on the test's database; its notices go to stderr (what a failing run needs to be read). */
async function startServer(): Promise<WebServer> {
  const s = await startWebServer(serverOptions());
  s.service.subscribe((e) => { if (e.type === "notice") process.stderr.write(`notice (${e.level ?? "info"}): ${e.message}\n`); });
  return s;
}

async function openPage(url: string): Promise<void> {
  await page.goto(url);
  await page.locator("[data-testid=progress]").waitFor();
}

/** Every cell of the node's journal for `id` recorded exactly once, `cells` of them. */
function exactlyOnceOnNode(id: string, cells: number): void {
  const j = agentJournal(join(sshd.remoteHome, ".fractal-agent"), id);
  expect(Object.keys(j.counts)).toHaveLength(cells);
  expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
}

/** The map shows `id`'s cells in the paper's colouring (a sample of cells, against the store). */
async function mapShows(id: string, name: string): Promise<void> {
  const s = store.sweep(id)!;
  const expected = colourLayer(sweepMap(store, id), "score").rgba;
  // Toasts sit over the map's corner: dismiss them to see the cells under them.
  for (let n = await page.locator("[data-testid=notice-dismiss]").count(); n > 0; n--) await page.locator("[data-testid=notice-dismiss]").first().click();
  await page.waitForTimeout(800); // the last layer refresh
  const img = await shot(page, name);
  const st = await viewState(page);
  for (let iy = 1; iy < s.ny; iy += 5) {
    for (let ix = 1; ix < s.nx; ix += 5) {
      const i = iy * s.nx + ix, p = cellOnPage(st, s.window, s.nx, ix, iy, s.ny);
      const px = pixel(img, p.x, p.y);
      for (let k = 0; k < 3; k++) expect(Math.abs(px[k] - expected[4 * i + k]), `cell ${ix},${iy} of ${name}`).toBeLessThanOrEqual(3);
    }
  }
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "fractal-e2e-remote-"));
  // The laptop's HOME: a key and nothing else (no ~/.ssh/config, no known_hosts): the host is added from the UI.
  home = join(dir, "home");
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  const key = keygen(join(home, ".ssh", "id_ed25519"));
  sshd = await startSshd({ authorizedKeys: [key.publicLine] });
  dbPath = join(dir, "sweeps.sqlite");
  server = await startServer();
  store = openStore(dbPath);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await openPage(server.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sshd?.stop(); // ends the node's daemon too (it carries the sessions' HOME)
  if (dir) await stopAgentDaemon(join(dir, "local-agent")); // and a local one, had a zoom run on this computer
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("the app drives a GPU node over SSH", () => {
  it("adds the host and trusts exactly the host key it showed", async () => {
    await page.locator("[data-testid=tab-hosts]").click();
    await page.locator("[data-testid=host-add-alias]").fill(ALIAS);
    await page.locator("[data-testid=host-add-hostname]").fill("127.0.0.1");
    await page.locator("[data-testid=host-add-port]").fill(String(sshd.port));
    await page.locator("[data-testid=host-add-user]").fill(userInfo().username);
    await page.locator("[data-testid=host-add-python]").fill(PYTHON);
    await page.locator("[data-testid=host-add-save]").click();
    const row = page.locator(`[data-testid=host-row][data-alias=${ALIAS}]`);
    await row.locator("[data-testid=host-test]").click();
    await row.locator("[data-testid=hostkey-prompt]").waitFor({ timeout: 60_000 });
    expect(await row.locator("[data-testid=hostkey-fingerprint]").textContent()).toBe(fingerprint(sshd.hostKey.blob));
    await shot(page, "remote-01-hostkey");
    await row.locator("[data-testid=hostkey-accept]").click();
    await row.locator("[data-testid=host-ok]").waitFor({ timeout: 120_000 }); // agent installed on the fresh node, probed
    expect(await row.locator("[data-testid=host-ok]").textContent()).toContain(PYTHON);
    await expect.poll(() => row.locator("[data-testid=host-gpus]").textContent()).toMatch(/none|no GPU|CPU/i);
  }, 180_000);

  it("starts a sweep on the host from the editor form and follows it through a cut connection", async () => {
    await fillMlpSweep(page, { target: ALIAS, name: "node tanh width 4", width: 4, lo: -1, hi: 3, points: N, steps: 1500 });
    // A typo is named at its field as it is typed, and the sweep cannot start.
    await page.locator(`[data-testid='form-axes.x.points']`).fill("1");
    await page.locator("[data-testid='field-error-axes.x.points']").waitFor();
    await page.locator(`[data-testid='form-axes.x.points']`).fill(String(N));
    await expect.poll(() => page.locator("[data-testid=editor-cost]").textContent()).toMatch(new RegExp(`^${N * N} cells`));
    await shot(page, "remote-02-editor");
    await page.locator("[data-testid=editor-start]").click();

    await expect.poll(() => store.sweeps().length, { timeout: 120_000 }).toBe(1);
    rootId = store.sweeps()[0].id;
    expect(store.sweep(rootId)!.target).toBe(ALIAS);
    // Progress with an ETA while it runs; then the SSH connection is cut (every sshd session process killed).
    await expect.poll(() => store.sweep(rootId)!.done_cells, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
    const item = page.locator(`[data-testid=progress-item][data-id=${rootId}]`);
    await item.waitFor();
    expect(sshd.killServingProcesses()).toBeGreaterThan(0);
    await expect.poll(() => store.sweep(rootId)!.status, { timeout: 240_000, interval: 500 }).toBe("completed");
    await page.locator("[data-testid=notice][data-level=done]").first().waitFor({ timeout: 30_000 });
    exactlyOnceOnNode(rootId, N * N);
    await mapShows(rootId, "remote-03-map");
  }, 420_000);

  it("zooms on the same host by default; a server restarted mid-zoom re-attaches and finishes it", async () => {
    await page.mouse.move(2, 2);
    await page.keyboard.press("0");
    await settled(page);
    const root = store.sweep(rootId)!;
    const st = await viewState(page);
    const a = cellOnPage(st, root.window, N, 4, 16), b = cellOnPage(st, root.window, N, 12, 8);
    await shiftDrag(page, a, b);
    await page.locator("[data-testid=zoom-dialog]").waitFor();
    // The parent's target, at the resolution probed there suits (a CPU-only node: a few dozen points).
    await expect.poll(() => page.locator("[data-testid=zoom-target]").inputValue()).toBe(ALIAS);
    await expect.poll(() => page.locator("[data-testid=zoom-points]").inputValue()).toBe("32");
    await page.locator("[data-testid=zoom-steps]").fill("2000");
    await expect.poll(() => page.locator("[data-testid=zoom-cost]").textContent()).toMatch(/^1024 cells/);
    await shot(page, "remote-04-zoom-dialog");
    await page.locator("[data-testid=zoom-start]").click();
    await page.locator("[data-testid=zoom-dialog]").waitFor({ state: "detached" });
    await expect.poll(() => store.sweeps().find((s) => s.parent_id === rootId)?.id ?? null, { timeout: 120_000 }).not.toBeNull();
    const zoom = store.sweeps().find((s) => s.parent_id === rootId)!;
    expect(zoom.target).toBe(ALIAS);
    await expect.poll(() => store.sweep(zoom.id)!.done_cells, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);

    // The app quits mid-zoom (the node keeps training) and starts again on the same database.
    await server.close();
    expect(store.sweep(zoom.id)!.status).not.toBe("completed");
    server = await startServer();
    await openPage(`${server.url}&sweep=${zoom.id}`);
    // 1024 cells of 2000 steps on the node: ~20 s on a quiet 2-core machine, minutes at load 8-10.
    await expect.poll(() => store.sweep(zoom.id)!.status, { timeout: 360_000, interval: 500 }).toBe("completed");
    exactlyOnceOnNode(zoom.id, 1024);
    await expect.poll(() => page.locator("[data-testid=breadcrumb]").textContent()).toMatch(/ › zoom [0-9.]+× \(32×32\)$/);
    await mapShows(zoom.id, "remote-05-zoom");
  }, 540_000);

  it("analyses the zoom path the node computed", async () => {
    const analysis = await server.service.getAnalysis(store.sweeps().find((s) => s.parent_id === rootId)!.id, { layer: "trainable", sequence: true });
    expect(analysis.levels.map((l) => l.sweepId)).toEqual([rootId, analysis.sweepId]);
    await page.locator("[data-testid=analysis]").waitFor();
    await expect.poll(() => page.locator("[data-testid=analysis]").textContent(), { timeout: 30_000 }).toMatch(/dimension/i);
    await shot(page, "remote-06-analysis");
  }, 60_000);
});
