// Driving the explorer the way its benchmark (scripts/bench-ui.ts) and its end-to-end tests both time it: a click on
// a library row stamped with the page's clock, and the first draw after it (src-renderer/perf.ts). No vitest here, so
// the bench can import it.
import type { Page } from "playwright-core";

/** Open sweep `id` from the library, as a click; the page's clock (epoch ms) at the click. */
export async function openFromLibrary(page: Page, id: string): Promise<number> {
  await page.locator("[data-testid=tab-library]").click();
  await page.locator(`[data-testid=library-row][data-id=${id}] button.link`).waitFor();
  return page.evaluate((id) => {
    const t = performance.timeOrigin + performance.now();
    document.querySelector<HTMLButtonElement>(`[data-testid=library-row][data-id="${id}"] button.link`)!.click();
    return t;
  }, id);
}

/**
 * Epoch ms of the first draw after `t0` of sweep `id`'s layer (`full`: at full resolution). The wait returns the
 * time it saw, before a later draw can overwrite it.
 */
export function drawnAfter(page: Page, id: string, t0: number, full = false, timeout = 60_000): Promise<number> {
  return page.waitForFunction(({ id, t0, key }) => {
    const v = (globalThis as any).__fractalPerf[key][id] ?? 0;
    return v > t0 ? v : 0;
  }, { id, t0, key: full ? "fullDrawn" : "layerDrawn" }, { timeout, polling: "raf" }).then((h) => h.jsonValue() as Promise<number>);
}
