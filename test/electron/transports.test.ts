// Both transports of the one Api — browser mode's WebSocket (the renderer's own client, src-renderer/api-client)
// and Electron IPC (the preload bridge over a fake ipcMain) — on the same ApiService over a copy of the demo
// database: every method is there on both, and gives the same value, or the same error, on both.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { type Api, type ApiMethod, API_METHODS } from "../../src-shared/contract";
import { APP_ORIGIN, makeBridge, registerApiHandlers } from "../../src-main/electron/ipc";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { connectWebSocket } from "../../src-renderer/api-client";
import { FakeIpcMain, FakeIpcRenderer } from "./fake-electron";
import { stopAgentDaemon } from "../core/helpers";

const DEMO = fileURLToPath(new URL("../../resources/demo.sqlite", import.meta.url));

// The renderer's client uses the browser's WebSocket; Node 20 has none built in, `ws` provides the same API.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

let dir: string, server: WebServer, viaWs: Api, viaIpc: Api, rootId: string, sftId: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fractal-transports-"));
  copyFileSync(DEMO, join(dir, "db.sqlite"));
  server = await startWebServer({
    dbPath: join(dir, "db.sqlite"), port: 0, open: false, python: "/usr/bin/python3", localAgentHome: join(dir, "agent"),
  });
  viaWs = (await connectWebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`)).api;
  const ipcMain = new FakeIpcMain();
  registerApiHandlers(ipcMain, server.service);
  viaIpc = makeBridge(new FakeIpcRenderer(ipcMain, `${APP_ORIGIN}/index.html`));
  const sweeps = await server.service.listSweeps();
  rootId = sweeps.find((s) => s.parentId === null && s.xAxis.param === "lr.input")!.id;
  sftId = sweeps.find((s) => s.yAxis.param === "dataset_size")!.id;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await stopAgentDaemon(join(dir, "agent")); // the local agent daemon local sweeps started, waited for
  rmSync(dir, { recursive: true, force: true });
});

/** A call's outcome, comparable across transports. */
async function settle(p: Promise<unknown>): Promise<{ ok: unknown } | { error: string }> {
  try {
    return { ok: (await p) ?? null };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe("both transports", () => {
  it("expose exactly the Api's methods", () => {
    const expected = [...API_METHODS, "subscribe"].sort();
    expect(Object.keys(viaWs).sort()).toEqual(expected);
    expect(Object.keys(viaIpc).sort()).toEqual(expected);
  });

  // One call per method (the mapped type makes a method added to the contract a compile error here). Calls
  // that would change the database or start training are given a sweep that does not exist or a spec the
  // service refuses, so both transports must carry the service's own error.
  const calls: { [M in ApiMethod]: () => Parameters<Api[M]> } = {
    listSweeps: () => [],
    getSweep: () => [sftId],
    getLayer: () => [rootId, "trainable"],
    getCell: () => [sftId, 5],
    recomputeCurve: () => [sftId, 5], // an SFT sweep: refused by the service (its curves are recorded)
    getLayerDelta: () => [rootId, "trainable", 0],
    getLayerPreview: () => [rootId, "trainable", 8],
    getAnalysis: () => [rootId, { layer: "trainable", sequence: false }],
    previewSweep: () => [{ version: 1, name: "no axes", model: { family: "mlp" } }, "local"],
    startSweep: () => [{ version: 1, name: "bad", model: { family: "nope" } }, "local"],
    previewZoom: () => [{ parentId: rootId, window: { x0: 0, x1: 0.4, y0: 0, y1: 0.4 }, points: 16, steps: null, target: "local" }],
    startZoom: () => [{ parentId: "no-such-sweep", window: { x0: 0, x1: 0.4, y0: 0, y1: 0.4 }, points: 16, steps: null, target: "local" }],
    renameSweep: () => ["no-such-sweep", "x"],
    setTags: () => ["no-such-sweep", ["a"]],
    listBookmarks: () => [],
    addBookmark: () => [{ sweepId: "no-such-sweep", name: "a view", view: { cx: 0, cy: 0, sx: 1, sy: 1 } }],
    deleteBookmark: () => [123456],
    deleteSweep: () => ["no-such-sweep"],
    cancelSweep: () => ["no-such-sweep"],
    resumeSweep: () => ["no-such-sweep"],
    fillInSweep: () => ["no-such-sweep"],
    listTargets: () => [],
    listHosts: () => [],
    addHost: () => [{ alias: "local", hostname: "example.org", port: 22, user: null, python: null }],
    deleteHost: () => ["no-such-host"],
    testHost: () => ["no-such-host", { acceptHostKeys: [] }],
    listSamples: () => [sftId, 5],
    generateSamples: () => [rootId, 0, { prompts: null, maxNewTokens: 8 }], // an MLP sweep: refused by the service
    startReproduction: () => [{ name: "no-such-experiment", points: 16, levels: 0, target: "local" }],
    listReproductions: () => [],
    startSensitivity: () => ["no-such-sweep", "seed"],
    getSensitivity: () => [rootId, "precision"], // no companion recorded: every cell not computed
    exportSweep: () => [sftId, { format: "csv" }], // the small SFT map: the 512^2 root is a 40 MB CSV, compared twice
    getEarlyWarning: () => [rootId, { layer: "trainable" }], // no curves recorded: refused with the fix
  };

  it("the call table covers the contract", () => {
    expect(Object.keys(calls).sort()).toEqual([...API_METHODS].sort());
  });

  it.each([...API_METHODS])("%s gives the same value or error over the WebSocket and over IPC", async (method) => {
    const args = calls[method]() as unknown[];
    const fn = (api: Api) => (api[method] as (...a: unknown[]) => Promise<unknown>).apply(api, args);
    const [ws, ipc, direct] = [await settle(fn(viaWs)), await settle(fn(viaIpc)), await settle(fn(server.service))];
    expect(ws).toEqual(direct);
    expect(ipc).toEqual(direct);
  });

  it("carry typed arrays as typed arrays", async () => {
    const [a, b] = [await viaWs.getLayer(rootId, "score"), await viaIpc.getLayer(rootId, "score")];
    expect(a.values).toBeInstanceOf(Float32Array);
    expect(b.values).toBeInstanceOf(Float32Array);
    const [ca, cb] = [await viaWs.getCell(sftId, 3), await viaIpc.getCell(sftId, 3)];
    expect(ca.curve?.loss).toBeInstanceOf(Float32Array);
    expect(cb.curve?.step).toBeInstanceOf(Int32Array);
    expect(ca).toEqual(cb);
  });
});

describe("the launch path over both transports", () => {
  const tiny = (name: string) => ({
    version: 1, name, model: { family: "mlp", width: 2 }, train: { steps: 20 },
    axes: { x: { param: "lr.input", scale: "log", range: [-1, 1], points: 4 }, y: { param: "lr.output", scale: "log", range: [-1, 1], points: 4 } },
  });
  const finished = async (id: string) => {
    for (let i = 0; i < 1200; i++) {
      const s = await server.service.getSweep(id);
      if (s.status === "completed") return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sweep ${id} did not complete`);
  };

  it.each([["WebSocket", () => viaWs], ["IPC", () => viaIpc]] as const)("%s: startSweep and startZoom record on the target and run to the end", async (_, api) => {
    const s = await api().startSweep(tiny(`via ${_}`), "local");
    expect(s).toMatchObject({ target: "local", cells: 16, parentId: null });
    expect((await finished(s.id)).doneCells).toBe(16);
    const z = await api().startZoom({ parentId: s.id, window: { x0: 0, x1: 1, y0: 0, y1: 1 }, points: 2, steps: null, target: "local" });
    expect(z).toMatchObject({ target: "local", parentId: s.id, cells: 4 });
    expect((await finished(z.id)).doneCells).toBe(4);
    await api().deleteSweep(s.id); // and its zoom; the local agent forgets both journals
    expect((await api().listSweeps()).some((x) => x.id === s.id || x.id === z.id)).toBe(false);
  }, 120_000);
});
