// First launch: the demo sweeps are copied into the user's database while it has none (src-main/core/demo.ts),
// keeping whatever else it holds, and never once it has sweeps of its own. Also the remembered window state.
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { validate } from "../../src-shared/spec";
import { openStore } from "../../src-main/core/store";
import { countSweeps, seedDemoIfEmpty } from "../../src-main/core/demo";
import { loadWindowState, saveWindowState } from "../../src-main/electron/window-state";

const DEMO = fileURLToPath(new URL("../../resources/demo.sqlite", import.meta.url));
let dir: string, demoCount: number;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-seed-"));
  demoCount = countSweeps(DEMO);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = (db: string) => {
  const s = openStore(db);
  try {
    return s.sweeps().map((r) => r.id).sort();
  } finally {
    s.close();
  }
};

it("creates a missing database as a copy of the demo, with every result", () => {
  const db = join(dir, "new", "fractal-llm.sqlite");
  expect(seedDemoIfEmpty(db, DEMO)).toBe(demoCount);
  expect(ids(db)).toHaveLength(demoCount);
  const s = openStore(db);
  for (const r of s.sweeps()) expect(s.loadDone(r.id).reduce((a, v) => a + v, 0)).toBe(r.cells);
  s.close();
});

it("fills an existing database without sweeps and keeps its hosts", () => {
  const db = join(dir, "hosts-only.sqlite");
  const s = openStore(db);
  s.addHost({ alias: "gpu", hostname: "gpu.example.org", port: 22, user: "me", python: null, agent_dir: null });
  s.close();
  expect(seedDemoIfEmpty(db, DEMO)).toBe(demoCount);
  const t = openStore(db);
  expect(t.hosts().map((h) => h.alias)).toEqual(["gpu"]);
  const root = t.sweeps().find((r) => r.parent_id === null && r.spec.model.family === "mlp")!;
  copyFileSync(DEMO, join(dir, "ref.sqlite")); // the shipped file is never opened through the store (it may migrate)
  const ref = openStore(join(dir, "ref.sqlite"));
  expect(Array.from(t.loadField(root.id, "trainable"))).toEqual(Array.from(ref.loadField(root.id, "trainable")));
  ref.close();
  t.close();
});

it("imports the demo's kept samples too, through the store, and never writes the shipped file", () => {
  const db = join(dir, "empty.sqlite");
  openStore(db).close();
  const demoBefore = readFileSync(DEMO);
  const ro = new Database(DEMO, { readonly: true });
  const kept = ro.prepare("SELECT sweep_id, cell, request FROM cell_samples").all() as { sweep_id: string; cell: number; request: string }[];
  ro.close();
  expect(kept.length).toBeGreaterThan(0);
  expect(seedDemoIfEmpty(db, DEMO)).toBe(demoCount);
  expect(readFileSync(DEMO).equals(demoBefore)).toBe(true);
  const t = openStore(db);
  for (const k of kept) expect(t.samples(k.sweep_id, k.cell, k.request)).toHaveLength(1);
  t.close();
});

it("leaves a database with sweeps of its own alone", () => {
  const db = join(dir, "mine.sqlite");
  const s = openStore(db);
  s.createSweep({
    id: "mine", target: "local", spec: validate({
      version: 1, name: "mine", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 1], points: 2 }, y: { param: "lr.output", scale: "log", range: [-1, 1], points: 2 } },
    }),
  });
  s.close();
  expect(seedDemoIfEmpty(db, DEMO)).toBe(0);
  expect(ids(db)).toEqual(["mine"]);
});

it("names the fix when the demo file is missing", () => {
  expect(() => seedDemoIfEmpty(join(dir, "x.sqlite"), join(dir, "nope.sqlite"))).toThrow(/npm run demo:db/);
});

it("remembers the window only while it is valid and on a display", () => {
  const f = join(dir, "window-state.json");
  const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  saveWindowState(f, { bounds: { x: 100, y: 50, width: 1200, height: 800 }, maximized: true });
  expect(loadWindowState(f, screen)).toEqual({ bounds: { x: 100, y: 50, width: 1200, height: 800 }, maximized: true });
  expect(loadWindowState(f, [{ x: 3000, y: 0, width: 1920, height: 1080 }])).toBeNull(); // that monitor is gone
  writeFileSync(f, "{not json");
  expect(loadWindowState(f, screen)).toBeNull();
  writeFileSync(f, JSON.stringify({ bounds: { x: 0, y: 0, width: "big", height: 800 }, maximized: false }));
  expect(loadWindowState(f, screen)).toBeNull();
  expect(loadWindowState(join(dir, "absent.json"), screen)).toBeNull();
});
