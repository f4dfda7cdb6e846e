// Helpers shared by the end-to-end files: headless Chromium as the tests drive it, the view a page shows and
// where a cell lands on it.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "../../src-main/core/local-transport";
import { decodePngRgba } from "../../src-main/analysis/png";
import { openStore, type Store } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { stopAgentDaemon } from "../core/helpers";
import { type View, worldToScreen } from "../../src-renderer/view";
import { expect } from "vitest";

/** Run a process from the repository root to its end, with `env` over this process's environment. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let stdout = "", stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => res({ code, stdout, stderr }));
  });
}

/** Debian's Chromium, headless, with software WebGL2 (SwiftShader) and no background network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    // playwright gives every launch a fresh temporary profile (user-data-dir)
  });
}

/** The view the page shows (it keeps it in the URL, the shareable view state) and the map's box on the page. */
export async function viewState(page: Page): Promise<{ view: View; box: { x: number; y: number; width: number; height: number } }> {
  const v = new URL(page.url()).searchParams.get("view")!.split(",").map(Number);
  const box = (await page.locator("[data-testid=map]").boundingBox())!;
  return { view: { cx: v[0], cy: v[1], sx: v[2], sy: v[3] }, box };
}

export type PageView = Awaited<ReturnType<typeof viewState>>;

/** Page coordinates of cell (ix, iy)'s centre of an nx x ny sweep (ny = nx by default) on window `win`. */
export function cellOnPage(st: PageView, win: { x0: number; x1: number; y0: number; y1: number }, nx: number, ix: number, iy: number, ny = nx) {
  const { view, box } = st;
  const cx = win.x0 + (ix + 0.5) * ((win.x1 - win.x0) / nx), cy = win.y0 + (iy + 0.5) * ((win.y1 - win.y0) / ny);
  const s = worldToScreen(view, { width: Math.round(box.width), height: Math.round(box.height) }, cx, cy);
  return { x: box.x + s.px, y: box.y + s.py };
}

/** Screenshots land here (CI keeps them as artifacts). */
export const ARTIFACTS = join(REPO_ROOT, "test-artifacts", "ui");

/**
 * A screenshot of the page saved as ARTIFACTS/<name>.png, decoded to RGBA. The hover tooltip (the read-out at the
 * cursor) is hidden unless asked for, so the map's pixels next to the cursor are the cells' own.
 */
export async function shot(page: Page, name: string, opts: { tooltip?: boolean } = {}): Promise<{ width: number; height: number; data: Uint8Array }> {
  const png = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), style: opts.tooltip ? undefined : ".tooltip { visibility: hidden !important; }" });
  return decodePngRgba(new Uint8Array(png));
}

export function pixel(img: { width: number; data: Uint8Array }, x: number, y: number): [number, number, number] {
  const o = (Math.round(y) * img.width + Math.round(x)) * 4;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

/** Wheel history settles after 250 ms; one more frame to draw. */
export function settled(page: Page): Promise<void> {
  return page.waitForTimeout(400);
}

/** Shift-drag a box on the map from page point a to b: the gesture that opens the zoom-scan dialog. */
export async function shiftDrag(page: Page, a: { x: number; y: number }, b: { x: number; y: number }): Promise<void> {
  await page.keyboard.down("Shift");
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 6 });
  await page.mouse.up();
  await page.keyboard.up("Shift");
}

/** In the editor tab, a width-`width` MLP sweep on `target`: log axes from 10^lo to 10^hi, `points` a side. */
export async function fillMlpSweep(page: Page, o: { target: string; name: string; width: number; lo: number; hi: number; points: number; steps: number }): Promise<void> {
  await page.locator("[data-testid=tab-editor]").click();
  const target = page.locator("[data-testid=editor-target]");
  await expect.poll(() => target.locator("option").allTextContents()).toContainEqual(expect.stringContaining(o.target));
  await target.selectOption(o.target);
  await page.locator("[data-testid='form-model.family']").selectOption("mlp");
  await page.locator("[data-testid=form-name]").fill(o.name);
  await page.locator("[data-testid='form-model.width']").fill(String(o.width));
  for (const a of ["x", "y"]) {
    await page.locator(`[data-testid='form-axes.${a}.lo']`).fill(String(o.lo));
    await page.locator(`[data-testid='form-axes.${a}.hi']`).fill(String(o.hi));
    await page.locator(`[data-testid='form-axes.${a}.points']`).fill(String(o.points));
  }
  await page.locator("[data-testid='form-train.steps']").fill(String(o.steps));
}

/** Wait until the WebGL map has drawn a sweep at full resolution (it loads after the first, 2-D frame: MapView.tsx). */
export function glDrawn(page: Page, timeout = 60_000): Promise<unknown> {
  return page.waitForFunction(() => Object.keys((globalThis as any).__fractalPerf?.fullFrame ?? {}).length > 0, null, { timeout });
}

/**
 * Train `spec` (a file) with the CLI into `dbPath` (the real agent on this computer), serve that database in browser
 * mode and open the sweep in headless Chromium (1200x800), waiting until the page has placed its view.
 */
export async function sweepAndOpen(specFile: string, dbPath: string, home: string): Promise<{ id: string; server: WebServer; browser: Browser; page: Page }> {
  const sweep = await run(process.execPath, ["bin/fractal-llm.js", "sweep", "--spec", specFile, "--python", "/usr/bin/python3", "--db", dbPath], {});
  expect(sweep.code, sweep.stderr).toBe(0);
  const id = sweep.stdout.trim().split("\n").pop()!;
  const server = await startWebServer({ dbPath, port: 0, open: false, python: "/usr/bin/python3", home });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${server.url}&sweep=${id}`);
  await page.waitForFunction(() => new URL(location.href).searchParams.has("view"));
  return { id, server, browser, page };
}

/** Close what sweepAndOpen opened (and the test's store), and stop the agent daemon of `home`, waiting for it. */
export async function closeOpened(o: { browser?: Browser; server?: WebServer; store?: Store }, home: string): Promise<void> {
  await o.browser?.close();
  await o.server?.close();
  o.store?.close();
  await stopAgentDaemon(home);
}

/** Browser mode on an empty database in a temp directory, with the real local agent, and a page showing the app. */
export interface EmptyApp { dir: string; server: WebServer; store: Store; browser: Browser; page: Page }

export async function openEmptyApp(prefix: string): Promise<EmptyApp> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = join(dir, "sweeps.sqlite");
  const server = await startWebServer({ dbPath, port: 0, open: false, home: dir, python: "/usr/bin/python3", localAgentHome: join(dir, "agent") });
  server.service.subscribe((e) => { if (e.type === "notice" && e.level === "error") process.stderr.write(`notice: ${e.message}\n`); });
  const store = openStore(dbPath);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(server.url);
  return { dir, server, store, browser, page };
}

/** Browser mode on a copy of the shipped demo database (resources/demo.sqlite) in a temp directory, and a browser. */
export type DemoApp = Omit<EmptyApp, "page">;

export async function openDemoApp(prefix: string): Promise<DemoApp> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = join(dir, "demo.sqlite");
  copyFileSync(join(REPO_ROOT, "resources", "demo.sqlite"), dbPath);
  const store = openStore(dbPath);
  const server = await startWebServer({ dbPath, port: 0, open: false, home: dir, python: "/usr/bin/python3", localAgentHome: join(dir, "agent") });
  const browser = await launchChromium();
  return { dir, server, store, browser };
}

/** Close what openEmptyApp or openDemoApp opened, the agent daemon it started, and remove its directory. */
export async function closeEmptyApp(app: Partial<EmptyApp>): Promise<void> {
  await app.browser?.close();
  await app.server?.close();
  if (app.dir) await stopAgentDaemon(join(app.dir, "agent"));
  app.store?.close();
  if (app.dir) rmSync(app.dir, { recursive: true, force: true });
}
