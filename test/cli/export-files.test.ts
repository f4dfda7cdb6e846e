// Exports write through a temporary file that is created, never opened if something is there: a symlink planted
// at its name (another user, in a shared directory) is neither followed nor removed. Real files, a real store.
import { readFileSync, symlinkSync, writeFileSync, lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportSweep } from "../../src-main/export/sweep";
import { openStore } from "../../src-main/core/store";
import { mlpSpec, tempDir, tile } from "../core/helpers";

describe("export files", () => {
  it("refuses a temporary name that a symlink was planted at, and leaves the link's target alone", () => {
    const dir = tempDir("fractal-export-");
    const store = openStore(join(dir, "db.sqlite"));
    store.createSweep({ id: "s", spec: mlpSpec(2, 2), target: "local" });
    store.ingest("s", "local", [tile(1, "s", [0, 1, 2, 3])]);
    const victim = join(dir, "victim.txt"), out = join(dir, "map.csv");
    writeFileSync(victim, "precious\n");
    const planted = `${out}.tmp-${process.pid}`;
    symlinkSync(victim, planted);
    for (const format of ["csv", "json", "png"] as const) {
      expect(() => exportSweep(store, "s", format, out)).toThrow(/something is in the way at .*map\.csv\.tmp-\d+.*remove it/);
    }
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    rmSync(planted);
    expect(exportSweep(store, "s", "csv", out)).toBe(4);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(5);
    store.close();
  });
});
