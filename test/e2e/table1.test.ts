// End to end: Table 1 from the app. In headless Chromium against browser mode on an empty database, the Table 1 view
// lists the paper's six numbers, starts a real reproduction on this computer (the local agent, 16x16 cells of the
// cheapest experiment, the root map alone), shows its dimension beside the paper's as core measures the same sweep,
// and opens the level on the map. Screenshot: test-artifacts/ui/table1.png.

import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sequenceDimension } from "../../src-main/analysis/mask";
import { TABLE1 } from "../../src-shared/table1";
import type { Store } from "../../src-main/core/store";
import { sweepMap } from "../../src-main/core/sweep-maps";
import { formatDifference } from "../../src-renderer/table1";
import { closeEmptyApp, type EmptyApp, openEmptyApp, shot } from "./page";

let app: EmptyApp, page: Page, store: Store;

beforeAll(async () => {
  app = await openEmptyApp("fractal-e2e-table1-");
  ({ page, store } = app);
  await page.locator("[data-testid=tab-table1]").click();
}, 120_000);

afterAll(() => closeEmptyApp(app ?? {}), 60_000);

describe("the Table 1 view", () => {
  it("lists the paper's six experiments with their dimensions before anything ran", async () => {
    const empty = page.locator("[data-testid=repro-empty]");
    await expect.poll(() => empty.count()).toBe(6);
    expect(await empty.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")))).toEqual(TABLE1.map((e) => e.name));
    expect(await empty.locator("[data-testid=repro-paper]").allTextContents()).toEqual(["1.17", "1.20", "1.41", "1.55", "1.66", "1.98"]);
    // The init-offset experiment offers its two forms; the others have none.
    await page.locator("[data-testid=repro-experiment]").selectOption("tanh-init-offset");
    expect(await page.locator("[data-testid=repro-form]").inputValue()).toBe("every_step");
    await page.locator("[data-testid=repro-experiment]").selectOption("tanh-single");
    expect(await page.locator("[data-testid=repro-form]").count()).toBe(0);
    // Too few points is named before anything is sent.
    await page.locator("[data-testid=repro-points]").fill("8");
    expect(await page.locator("[data-testid=repro-start]").isDisabled()).toBe(true);
  });

  it("starts a reproduction and shows its dimension beside the paper's, as core measures the same sweep", async () => {
    await page.locator("[data-testid=repro-points]").fill("16");
    await page.locator("[data-testid=repro-levels]").selectOption("0");
    await page.locator("[data-testid=repro-start]").click();
    const row = page.locator("[data-testid=repro-row][data-name=tanh-single]");
    await row.waitFor({ timeout: 60_000 });
    await row.locator("[data-testid=repro-state][data-state=completed]").waitFor({ timeout: 150_000 });
    expect(await page.locator("[data-testid=repro-error]").count()).toBe(0);

    const [root] = store.sweeps();
    expect(await row.getAttribute("data-id")).toBe(root.id);
    const d = sequenceDimension([sweepMap(store, root.id)]).dimension;
    expect(await row.locator("[data-testid=repro-dimension]").textContent()).toBe(d.toFixed(2));
    expect(await row.locator("[data-testid=repro-paper]").textContent()).toBe("1.41");
    expect(await row.locator("[data-testid=repro-difference]").textContent()).toBe(formatDifference(d - 1.41));
    const level = page.locator(`[data-testid=repro-level][data-id=${root.id}][data-level="0"]`);
    expect(await level.locator("[data-testid=repro-level-dimension]").textContent()).toBe(d.toFixed(2));
    expect(await page.locator("[data-testid=repro-empty]").count()).toBe(5); // the other experiments: the paper's number alone
    await shot(page, "table1");

    await level.locator("[data-testid=repro-open]").click();
    await page.locator("[data-testid=map]").waitFor();
    await expect.poll(() => new URL(page.url()).searchParams.get("sweep")).toBe(root.id);
  }, 240_000);
});
