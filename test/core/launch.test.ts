// The launch path's pure half (core/launch.ts): a sweep prepared for each kind of target, and a zoom that never
// inherits paths only its parent's node has. Real files and a real store; the SSH half is test/ui/remote-service.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LaunchError, nodeFiles, orphanedUploads, prepareSweep, recordSweep, ZoomError, zoomChildSpec } from "../../src-main/launch/launch";
import { validate, type Spec } from "../../src-shared/spec";
import { openStore } from "../../src-main/core/store";
import { tempDir } from "./helpers";

const chats = (n: number) => Array.from({ length: n }, (_, i) =>
  JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] })).join("\n") + "\n";

function gptSpec(dataset: string): Spec {
  return validate({
    version: 1, name: "laptop data", model: { family: "gpt", checkpoint: "tiny" },
    data: { dataset, seq_len: 16, heldout: 2, size: 4 },
    train: { steps: 2, batch_size: 2, precision: "float32" },
    axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 4 }, y: { param: "warmup", scale: "linear", range: [0, 0.5], points: 4 } },
    criterion: { window: 2 },
  });
}

function setup() {
  const dir = tempDir("fractal-launch-");
  writeFileSync(join(dir, "chat.jsonl"), chats(8));
  const store = openStore(join(dir, "db.sqlite"));
  return { dir, store, given: gptSpec(`jsonl:${join(dir, "chat.jsonl")}`) };
}

describe("recordSweep", () => {
  it("refuses a boundary sweep on a Slurm cluster before uploading or recording anything, naming the fix", async () => {
    const { store } = setup();
    const spec = validate({
      version: 1, name: "boundary on slurm", model: { family: "mlp", width: 4 }, train: { steps: 5 }, sampling: "boundary", criterion: { window: 2 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 1], points: 8 }, y: { param: "lr.output", scale: "log", range: [-1, 1], points: 8 } },
    });
    const p = await prepareSweep(store, spec, "cluster", false);
    const slurm = { kind: "slurm", tasks: 2 } as never; // the settings are not read: the sampling is refused first
    const upload = async () => { throw new Error("uploaded"); };
    await expect(recordSweep(store, p, { scheduler: slurm, upload })).rejects.toThrow(LaunchError);
    await expect(recordSweep(store, p, { scheduler: slurm, upload })).rejects.toThrow(/Set "sampling": "grid"/);
    expect(store.sweep(p.id)).toBeUndefined();
    store.close();
  });
});

describe("prepareSweep", () => {
  it("local keeps laptop paths; a node gets content-addressed copies and the laptop spec beside them", async () => {
    const { dir, store, given } = setup();
    const local = await prepareSweep(store, given, "local", false);
    expect(local.spec.data!.dataset).toBe(`jsonl:${join(dir, "chat.jsonl")}`);
    expect(local.files).toEqual([]);
    const node = await prepareSweep(store, given, "gpu-box", false);
    expect(node.spec.data!.dataset).toMatch(/^jsonl:~\/\.fractal-llm\/data\/[0-9a-f]{64}\.jsonl$/);
    expect(node.source.data!.dataset).toBe(`jsonl:${join(dir, "chat.jsonl")}`);
    expect(node.files.map((f) => f.local)).toEqual([join(dir, "chat.jsonl")]);
    expect(node.id).not.toBe(local.id); // the id hashes the target and the spec as it runs there
    expect((await prepareSweep(store, given, "gpu-box", false)).id).toBe(node.id); // same command: same sweep
    store.close();
  });
});

describe("zoomChildSpec", () => {
  const w = { x0: -3, x1: -2, y0: 0, y1: 0.25 };

  it("on the parent's node keeps its node paths; elsewhere starts from the laptop spec", async () => {
    const { dir, store, given } = setup();
    const p = await prepareSweep(store, given, "gpu-box", false);
    const parent = store.createSweep({ id: p.id, spec: p.spec, target: "gpu-box", sourceSpec: p.source });
    expect(parent.source_spec!.data!.dataset).toBe(`jsonl:${join(dir, "chat.jsonl")}`);
    expect(zoomChildSpec(parent, w, 8, "gpu-box").data!.dataset).toBe(p.spec.data!.dataset);
    const here = zoomChildSpec(parent, w, 8, "local");
    expect(here.data!.dataset).toBe(`jsonl:${join(dir, "chat.jsonl")}`);
    expect(here.parent).toEqual({ sweep: parent.id });
    expect(here.axes.x).toMatchObject({ range: [-3, -2], points: 8 });
    store.close();
  });

  it("refuses a zoom elsewhere of a sweep whose data only its node has, naming the files", async () => {
    const { store, given } = setup();
    const p = await prepareSweep(store, given, "gpu-box", false);
    const parent = store.createSweep({ id: p.id, spec: p.spec, target: "gpu-box" }); // recorded without its laptop spec
    expect(() => zoomChildSpec(parent, w, 8, "local")).toThrow(ZoomError);
    expect(() => zoomChildSpec(parent, w, 8, "local")).toThrow(/reads jsonl|reads ~\/\.fractal-llm\/data\/.*run the zoom on gpu-box/);
    expect(zoomChildSpec(parent, w, 8, "gpu-box").data!.dataset).toBe(p.spec.data!.dataset);
    store.close();
  });

  it("refuses a window outside the parent", async () => {
    const { store, given } = setup();
    const parent = store.createSweep({ id: "p", spec: given, target: "local" });
    expect(() => zoomChildSpec(parent, { x0: 5, x1: 6, y0: 0, y1: 0.1 }, 8, "local")).toThrow(/not inside the parent's window/);
    store.close();
  });
});

describe("orphanedUploads", () => {
  it("lists only the node files no other sweep on that target reads", async () => {
    const { store, given } = setup();
    const p = await prepareSweep(store, given, "gpu-box", false);
    const a = store.createSweep({ id: "a", spec: p.spec, target: "gpu-box" });
    expect(await orphanedUploads(store, "gpu-box", [a])).toEqual(nodeFiles(p.spec));
    store.createSweep({ id: "b", spec: { ...p.spec, name: "another" }, target: "gpu-box" });
    expect(await orphanedUploads(store, "gpu-box", [a])).toEqual([]);
    store.close();
  });
});
