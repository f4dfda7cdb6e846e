// exportSweep from the app holds the file in memory: a CSV or JSON of a map above 1024^2 cells is refused with the
// CLI command that streams it to a file; its PNG (one pixel per cell) still comes.
import { join } from "node:path";
import { expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import { MAX_TABLE_CELLS } from "../../src-main/api/exports";
import { openStore } from "../../src-main/core/store";
import { mlpSpec, tempDir } from "../core/helpers";

it("refuses a table of a map too large for the page, naming the CLI command, and still gives its PNG", async () => {
  const store = openStore(join(tempDir(), "db.sqlite"));
  const side = 1025;
  expect(side * side).toBeGreaterThan(MAX_TABLE_CELLS);
  store.createSweep({ id: "big", spec: mlpSpec(side, side), target: "local" });
  store.createSweep({ id: "edge", spec: mlpSpec(1024, 1024, { name: "at the cap" }), target: "local" });
  const svc = new ApiService(store);
  try {
    for (const format of ["csv", "json"] as const) {
      await expect(svc.exportSweep("big", { format })).rejects.toThrow(
        new RegExp(`1025x1025 map is too large to download as ${format.toUpperCase()}.*fractal-llm export --sweep big --format ${format} --out FILE`));
    }
    expect((await svc.exportSweep("big", { format: "png" })).mime).toBe("image/png");
    expect((await svc.exportSweep("edge", { format: "csv" })).cells).toBe(0); // at the cap: served (no results yet)
  } finally {
    svc.close();
    store.close();
  }
}, 120_000);
