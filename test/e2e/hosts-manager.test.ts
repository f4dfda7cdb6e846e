// The host manager as a researcher uses it (issue 25 item 8), in headless Chromium against browser mode with a temp
// HOME: a host saved with a mistyped name fails its test at once (DNS said no; no five retries behind "testing…"),
// the row and the target picker then show that failure instead of "not probed yet", and a saved host can be edited
// and deleted.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { mlpSpec, tempDir } from "../core/helpers";
import { launchChromium } from "./page";

let dir: string, server: WebServer, browser: Browser, page: Page;
const notices: string[] = [];

beforeAll(async () => {
  dir = tempDir("fractal-hosts-ui-");
  const home = join(dir, "home");
  mkdirSync(join(home, ".ssh"), { recursive: true });
  writeFileSync(join(home, ".ssh", "config"), "");
  const dbPath = join(dir, "db.sqlite");
  server = await startWebServer({ dbPath, port: 0, open: false, reattach: false, home, trustFile: join(dir, "trust.json") });
  server.service.subscribe((e) => { if (e.type === "notice") notices.push(e.message); });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(server.url);
  await page.locator("[data-testid=tab-hosts]").click();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const row = (alias: string) => page.locator(`[data-testid=host-row][data-alias="${alias}"]`);

describe("the host manager", () => {
  it("fails a mistyped host name at once, and shows the failure rather than 'not probed yet'", async () => {
    await page.locator("[data-testid=host-add-alias]").fill("typo-gpu");
    await page.locator("[data-testid=host-add-hostname]").fill("gpu-node-typo.invalid"); // .invalid never resolves
    await page.locator("[data-testid=host-add-save]").click();
    await row("typo-gpu").waitFor();
    expect(await row("typo-gpu").locator("[data-testid=host-gpus]").textContent()).toMatch(/not probed/);

    await row("typo-gpu").locator("[data-testid=host-test]").click();
    const error = row("typo-gpu").locator("[data-testid=host-error]");
    await error.waitFor({ timeout: 30_000 });
    const message = (await error.textContent())!;
    expect(message).toMatch(/^unknown-host: No such host: DNS does not know the name "gpu-node-typo\.invalid"/);
    // Said after one answer from DNS: no attempts counted, no retries announced.
    expect(message).not.toMatch(/attempt/);
    expect(notices.filter((m) => /retrying|reconnecting/.test(m))).toEqual([]);

    const label = row("typo-gpu").locator("[data-testid=host-gpus]");
    await expect.poll(() => label.getAttribute("data-failed")).toBe("true");
    expect(await label.textContent()).toMatch(/^test failed/);
    const target = (await server.service.listTargets()).find((t) => t.target === "typo-gpu")!;
    expect(target.description).toMatch(/last test failed: unknown-host: No such host/);

    // Still shown after the panel is left and opened again (the server remembers it for the session).
    await page.locator("[data-testid=tab-inspector]").click();
    await page.locator("[data-testid=tab-hosts]").click();
    await expect.poll(() => row("typo-gpu").locator("[data-testid=host-gpus]").textContent()).toMatch(/^test failed/);
    expect(await row("typo-gpu").locator("[data-testid=host-error]").textContent()).toContain("No such host");
  }, 60_000);

  it("edits a saved host in place, keeping its alias", async () => {
    await row("typo-gpu").locator("[data-testid=host-edit]").click();
    const form = page.locator("[data-testid=host-add]");
    await expect.poll(() => form.locator("h3").textContent()).toBe("edit typo-gpu");
    expect(await page.locator("[data-testid=host-add-hostname]").inputValue()).toBe("gpu-node-typo.invalid");
    expect(await page.locator("[data-testid=host-add-alias]").getAttribute("readonly")).not.toBeNull();
    await page.locator("[data-testid=host-add-hostname]").fill("127.0.0.1");
    await page.locator("[data-testid=host-add-port]").fill("2222");
    await page.locator("[data-testid=host-add-user]").fill("me");
    await page.locator("[data-testid=host-add-save]").click();
    await expect.poll(() => row("typo-gpu").textContent()).toContain("me@127.0.0.1:2222");
    expect((await server.service.listHosts()).find((h) => h.alias === "typo-gpu")).toMatchObject({ hostname: "127.0.0.1", port: 2222, user: "me" });
    expect(await page.locator("[data-testid=host-row]").count()).toBe(1);
    expect(await form.locator("h3").textContent()).toBe("add a host");
  }, 60_000);

  it("deletes a saved host after asking in its row, and refuses while a sweep on it is unfinished", async () => {
    const store = server.service.store;
    store.createSweep({ id: "on-typo", spec: mlpSpec(2, 2), target: "typo-gpu" }); // created: not finished
    await row("typo-gpu").locator("[data-testid=host-delete]").click();
    await row("typo-gpu").getByRole("button", { name: "keep" }).click();
    expect(store.host("typo-gpu")).toBeDefined();
    await row("typo-gpu").locator("[data-testid=host-delete]").click();
    await row("typo-gpu").locator("[data-testid=host-delete-confirm]").click();
    await expect.poll(() => row("typo-gpu").locator("[data-testid=host-delete-error]").textContent())
      .toMatch(/host typo-gpu has unfinished sweeps \(mlp 2x2 on-typo\): cancel them or let them finish/);
    expect(store.host("typo-gpu")).toBeDefined();
    store.setStatus("on-typo", "cancelled");
    await row("typo-gpu").locator("[data-testid=host-delete]").click();
    await row("typo-gpu").locator("[data-testid=host-delete-confirm]").click();
    await expect.poll(() => page.locator("[data-testid=host-row]").count()).toBe(0);
    expect(store.host("typo-gpu")).toBeUndefined();
    expect(store.sweep("on-typo")?.target).toBe("typo-gpu"); // the sweep keeps its target's name
  }, 60_000);
});
