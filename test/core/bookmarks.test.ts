// Bookmarks on a real SQLite file through the API service: kept with their view, listed, refused for an unknown
// sweep or an empty name, deleted alone, and gone with their sweep.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARG_CHECKS } from "../../src-main/api/validate";
import { ApiService } from "../../src-main/api/service";
import { openStore } from "../../src-main/core/store";
import { mlpSpec, tempDir } from "./helpers";

describe("bookmarks", () => {
  it("keeps named views of a sweep until they or their sweep are deleted", async () => {
    const path = join(tempDir(), "db.sqlite");
    const store = openStore(path);
    store.createSweep({ id: "a", spec: mlpSpec(4, 4), target: "local" });
    store.createSweep({ id: "b", spec: mlpSpec(4, 4, { name: "other" }), target: "local" });
    const svc = new ApiService(store);
    try {
      const view = { cx: 0.125, cy: -1.5, sx: 1e-12, sy: 2e-12 };
      const one = await svc.addBookmark({ sweepId: "a", name: "the deep edge", view });
      await svc.addBookmark({ sweepId: "b", name: "b's corner", view: { cx: 1, cy: 1, sx: 0.01, sy: 0.01 } });
      expect(one).toMatchObject({ sweepId: "a", name: "the deep edge", view });
      await expect(svc.addBookmark({ sweepId: "gone", name: "x", view })).rejects.toThrow(/sweep gone: it is not in this database/);
      expect(() => ARG_CHECKS.addBookmark([{ sweepId: "a", name: "  ", view }])).toThrow(/name must not be empty/);
      expect(() => ARG_CHECKS.addBookmark([{ sweepId: "a", name: "x", view: { ...view, sx: 0 } }])).toThrow(/must be > 0/);
      // it outlives the process: another handle on the file reads the same view, bit for bit
      const other = openStore(path);
      expect(other.bookmarks().map((b) => [b.name, b.cx, b.sx])).toEqual([["the deep edge", 0.125, 1e-12], ["b's corner", 1, 0.01]]);
      other.close();
      await svc.deleteBookmark(one.id);
      await expect(svc.deleteBookmark(one.id)).rejects.toThrow(/deleted already/);
      expect((await svc.listBookmarks()).map((b) => b.name)).toEqual(["b's corner"]);
      store.deleteSweeps(["b"]);
      expect(await svc.listBookmarks()).toEqual([]);
    } finally {
      svc.close();
      store.close();
    }
  });
});
