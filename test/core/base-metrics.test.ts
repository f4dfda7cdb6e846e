// The agent's `base` event (an SFT sweep's untrained-model numbers) lands on the sweep row, once.
import Database from "better-sqlite3";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src-main/core/migrations";
import { openStore, type JournalEvent } from "../../src-main/core/store";
import { journal, mlpSpec, tempDir } from "./helpers";

const metrics = { heldout_loss: 3.25, ood_loss: null, evals: { piqa: { acc: 0.5, acc_norm: 0.625, n: 8 } } };

describe("base metrics", () => {
  it("are stored with the sweep, and a replayed journal changes nothing", () => {
    const path = join(tempDir(), "base.sqlite");
    const spec = mlpSpec(4, 4);
    const events = journal("sw", spec, 16, 8);
    const withBase: JournalEvent[] = [events[0], { seq: 2, type: "base", sweep: "sw", metrics },
      ...events.slice(1).map((e) => ({ ...e, seq: e.seq + 1 }) as JournalEvent)];
    const s = openStore(path);
    s.createSweep({ id: "sw", spec, target: "local" });
    expect(s.sweep("sw")!.base).toBeNull();
    s.ingest("sw", "local", withBase);
    expect(s.sweep("sw")!.base).toEqual(metrics);
    expect(s.sweep("sw")!.done_cells).toBe(16);
    const again = s.ingest("sw", "local", withBase);
    expect(again.applied).toBe(0);
    expect(s.sweep("sw")!.base).toEqual(metrics);
    s.close();
  });

  it("a database made before the base column migrates and keeps its sweeps", () => {
    const path = join(tempDir(), "v1.sqlite");
    const db = new Database(path);
    db.exec(MIGRATIONS[0]);
    db.pragma("user_version = 1");
    db.close();
    const s = openStore(path);
    expect(s.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    s.createSweep({ id: "old", spec: mlpSpec(2, 2), target: "local" });
    expect(s.sweep("old")!.base).toBeNull();
    s.close();
  });
});

describe("cell samples", () => {
  it("are kept per cell and request, newest first, and go with their sweep", () => {
    const s = openStore(join(tempDir(), "samples.sqlite"));
    s.createSweep({ id: "sw", spec: mlpSpec(2, 2), target: "local" });
    const a = { cell: 1, final_loss: 2.5, samples: [{ prompt: "p", reference: null, base: "b", tuned: "t" }] };
    s.putSamples("sw", 1, '{"max_new_tokens":8,"prompts":null}', a);
    s.putSamples("sw", 1, '{"max_new_tokens":8,"prompts":["q"]}', { ...a, final_loss: 3 });
    expect(s.samples("sw", 1).map((r) => r.request)).toEqual(['{"max_new_tokens":8,"prompts":["q"]}', '{"max_new_tokens":8,"prompts":null}']);
    expect(s.samples("sw", 1, '{"max_new_tokens":8,"prompts":null}')[0]!.result).toEqual(a);
    expect(s.samples("sw", 0)).toEqual([]);
    expect(() => s.putSamples("nope", 0, "{}", a)).toThrow(/unknown sweep nope/);
    s.db.prepare("DELETE FROM sweeps WHERE id = ?").run("sw");
    expect(s.db.prepare("SELECT COUNT(*) AS n FROM cell_samples").get()).toEqual({ n: 0 });
    s.close();
  });
});
