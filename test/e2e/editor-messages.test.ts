// The sweep editor's messages as a researcher meets them (issue 25 item 7), in headless Chromium against browser
// mode: one wording for bounds ("≥", never ">="), values quoted as the spec's JSON writes them (no Python's None,
// 'abc' or 6.0 reaching the page), every error of a JSON spec listed at once, and a run estimated at many hours asking
// before it starts.

import { join } from "node:path";
import { rmSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { tempDir } from "../core/helpers";
import { launchChromium } from "./page";

let dir: string, store: Store, server: WebServer, browser: Browser, page: Page;

beforeAll(async () => {
  dir = tempDir("fractal-editor-msgs-");
  const dbPath = join(dir, "db.sqlite");
  store = openStore(dbPath);
  server = await startWebServer({ dbPath, port: 0, open: false, reattach: false, python: "/usr/bin/python3" });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(server.url);
  await page.locator("[data-testid=tab-editor]").click();
  await page.locator("[data-testid='form-model.family']").selectOption("mlp");
  await page.locator("[data-testid=editor-cost]").waitFor({ timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every message the editor shows now: beside fields, at the bottom, in the JSON view. */
async function messages(): Promise<string[]> {
  await page.waitForTimeout(700); // the server's preview is debounced (250 ms) and answers after
  return page.locator("[data-testid=editor] .field-error, [data-testid=editor] .error").allTextContents();
}

/** No Python spelling and one wording for bounds in any message. */
function expectPlainWording(all: string[]): void {
  for (const m of all) {
    expect(m, m).not.toMatch(/>=|<=/);
    expect(m, m).not.toMatch(/\bNone\b|\bTrue\b|\bFalse\b/);
    expect(m, m).not.toMatch(/'[^']*'/); // Python's quotes; JSON writes "abc"
    expect(m, m).not.toMatch(/\d\.0\b/); // Python's floats: [6.0, -3.0]
  }
}

const field = (p: string) => page.locator(`[data-testid='form-${p}']`);

describe("the editor's messages", () => {
  it("say bounds one way and quote values as JSON, never as Python", async () => {
    await field("axes.x.points").fill("-5");
    await field("model.width").fill("abc");
    const first = await messages();
    expect(first.join("\n")).toMatch(/≥ 2/);
    expect(first.join("\n")).not.toMatch(/≥ 1/); // one bound for the field, not the form's and the validator's
    expectPlainWording(first);

    await field("model.width").fill("4");
    await field("axes.x.points").fill("8");
    await field("axes.x.lo").fill("6");
    await field("axes.x.hi").fill("-3");
    expectPlainWording(await messages());
    await field("axes.x.lo").fill("-1");
    await field("axes.x.hi").fill("2");

    // The server's own message, for a value the form lets through to it: a required field given as null.
    await page.locator("[data-testid=editor-advanced]").click();
    const spec = JSON.parse(await page.locator("[data-testid=editor-spec]").inputValue());
    spec.model.activation = null;
    await page.locator("[data-testid=editor-spec]").fill(JSON.stringify(spec, null, 2));
    const server = await messages();
    expect(server.join("\n")).toMatch(/model\.activation/);
    expectPlainWording(server);
  }, 60_000);

  it("lists every error of a JSON spec at once", async () => {
    const text = page.locator("[data-testid=editor-spec]");
    const spec = JSON.parse(await text.inputValue());
    spec.model.activation = "tanh";
    spec.axes.x.points = -5;
    spec.train.steps = -3;
    spec.criterion = { ...spec.criterion, threshold: "abc" };
    spec.colour = "blue"; // a field the spec does not have
    await text.fill(JSON.stringify(spec, null, 2));
    const list = page.locator("[data-testid=editor-json-errors] li");
    await expect.poll(() => list.count()).toBeGreaterThanOrEqual(4);
    const all = (await list.allTextContents()).join("\n");
    for (const f of ["axes.x.points", "train.steps", "criterion.threshold", "colour"]) expect(all).toContain(f);
    expectPlainWording(await list.allTextContents());
    spec.axes.x.points = 8;
    spec.train.steps = 20;
    spec.criterion.threshold = 1;
    delete spec.colour;
    await text.fill(JSON.stringify(spec, null, 2));
    await expect.poll(() => list.count()).toBe(0);
    await page.locator("[data-testid=editor-advanced]").click();
  }, 60_000);

  it("asks before starting a run estimated at many hours, and starts nothing when told no", async () => {
    await field("train.steps").fill("1000000000");
    const start = page.locator("[data-testid=editor-start]");
    await expect.poll(() => page.locator("[data-testid=editor-cost]").textContent(), { timeout: 30_000 }).toMatch(/\d+h\d\dm/);
    await expect.poll(() => start.isEnabled()).toBe(true);
    await start.click();
    const ask = page.locator("[data-testid=editor-confirm]");
    await ask.waitFor();
    expect(await ask.textContent()).toMatch(/about \d+h\d\dm .* Start it anyway\?/);
    expect(await start.isDisabled()).toBe(true);
    await page.locator("[data-testid=editor-confirm-cancel]").click();
    await ask.waitFor({ state: "detached" });
    await page.waitForTimeout(500);
    expect(store.sweeps()).toHaveLength(0);

    // A short run starts without a question.
    await field("train.steps").fill("20");
    await expect.poll(() => page.locator("[data-testid=editor-cost]").textContent()).not.toMatch(/\d+h\d\dm/);
    expect(await ask.count()).toBe(0);
  }, 60_000);
});
