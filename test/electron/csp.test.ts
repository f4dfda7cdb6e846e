// The built UI runs under the desktop app's CSP (src-main/electron/csp.ts) without a single violation, on the
// demo maps. Electron cannot run here, so headless Chromium loads browser mode with that CSP added to every
// response of the server's origin; the app's own scheme differs only in the origin 'self' stands for.
// The screenshot (test-artifacts/desktop/demo-under-csp.png) is what a first launch shows.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, expect, it } from "vitest";
import { CSP } from "../../src-main/electron/csp";
import { startWebServer, type WebServer } from "../../src-main/web/server";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let dir: string, server: WebServer | undefined, browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("the UI draws the demo maps under the app's CSP with no violation", async () => {
  dir = mkdtempSync(join(tmpdir(), "fractal-csp-"));
  copyFileSync(join(ROOT, "resources", "demo.sqlite"), join(dir, "db.sqlite"));
  server = await startWebServer({ dbPath: join(dir, "db.sqlite"), port: 0, open: false });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
      // A document fulfilled by page.route counts as public address space, so Chromium's local-network-access
      // checks (not the CSP) would block its WebSocket to 127.0.0.1.
      "--disable-features=LocalNetworkAccessChecks"],
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const origin = `http://127.0.0.1:${server.port}`;
  const served: string[] = [];
  await page.route(`${origin}/**`, async (route) => {
    const resp = await route.fetch();
    served.push(new URL(route.request().url()).pathname);
    await route.fulfill({ response: resp, headers: { ...resp.headers(), "content-security-policy": CSP } });
  });
  const violations: string[] = [], errors: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { __csp: string[] }).__csp ??= [];
      (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(server.url);
  // The UI records its view in the URL once a sweep is open and drawn (as test/e2e does).
  await page.waitForFunction(() => new URL(location.href).searchParams.has("view"), undefined, { timeout: 60_000 });
  await page.waitForTimeout(1000);
  mkdirSync(join(ROOT, "test-artifacts", "desktop"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "test-artifacts", "desktop", "demo-under-csp.png") });

  // Every panel once (inspector with a cell's curves, library, editor, the 3-D surface), so each has run under it.
  const box = (await page.locator("[data-testid=map]").boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.locator("[data-testid=inspector]").waitFor();
  for (const id of ["tab-library", "tab-editor", "mode-surface"]) await page.locator(`[data-testid=${id}]`).click();
  await page.locator("[data-testid=surface-canvas]").waitFor();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(ROOT, "test-artifacts", "desktop", "surface-under-csp.png") });
  await page.locator("[data-testid=mode-map]").click();

  violations.push(...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])));
  expect(served).toContain("/"); // the CSP really was on the document
  expect(violations).toEqual([]);
  expect(errors).toEqual([]);
  const sweep = new URL(page.url()).searchParams.get("sweep");
  expect((await server.service.listSweeps()).map((s) => s.id)).toContain(sweep);
  expect(await page.locator("[data-testid=map]").isVisible()).toBe(true);
}, 180_000);
