// The Electron IPC layer over a real ApiService on a copy of the demo database, with electron replaced by a thin
// fake (fake-electron.ts): one handler per contract method, the bridge the preload exposes, sender checks,
// argument checks, errors carried intact, events.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, ApiError, type ApiEvent, type ApiMethod, API_METHODS } from "../../src-shared/contract";
import { ApiService } from "../../src-main/api/service";
import { openStore, type Store } from "../../src-main/core/store";
import { APP_ORIGIN, channelOf, EVENT_CHANNEL, isAppUrl, makeBridge, registerApiHandlers } from "../../src-main/electron/ipc";
import { FakeIpcMain, FakeIpcRenderer } from "./fake-electron";

const DEMO = fileURLToPath(new URL("../../resources/demo.sqlite", import.meta.url));

let dir: string, store: Store, service: ApiService, ipcMain: FakeIpcMain, unregister: () => void, bridge: Api;
let rootId: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-ipc-"));
  copyFileSync(DEMO, join(dir, "db.sqlite"));
  store = openStore(join(dir, "db.sqlite"));
  service = new ApiService(store, { pollMs: 60_000 });
  ipcMain = new FakeIpcMain();
  unregister = registerApiHandlers(ipcMain, service);
  bridge = makeBridge(new FakeIpcRenderer(ipcMain, `${APP_ORIGIN}/index.html?sweep=x`));
  rootId = store.sweeps().find((s) => s.parent_id === null && s.spec.model.family === "mlp")!.id;
});
afterAll(() => {
  service.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("IPC handler table", () => {
  it("has one handler per request method of the contract, and the bridge every method of Api", () => {
    expect([...ipcMain.handlers.keys()].sort()).toEqual(API_METHODS.map(channelOf).sort());
    expect(Object.keys(bridge).sort()).toEqual([...API_METHODS, "subscribe"].sort());
    for (const m of Object.keys(bridge)) expect(typeof bridge[m as keyof Api]).toBe("function");
  });

  it("unregisters every handler", () => {
    const other = new FakeIpcMain();
    const off = registerApiHandlers(other, service);
    expect(other.handlers.size).toBe(API_METHODS.length);
    off();
    expect(other.handlers.size).toBe(0);
  });

  it("returns what the service returns, typed arrays included", async () => {
    expect(await bridge.listSweeps()).toEqual(await service.listSweeps());
    const layer = await bridge.getLayer(rootId, "score");
    expect(layer.values).toBeInstanceOf(Float32Array);
    expect(layer).toEqual(await service.getLayer(rootId, "score"));
    expect(await bridge.getCell(rootId, 77)).toEqual(await service.getCell(rootId, 77));
  });
});

describe("sender check", () => {
  it("accepts only pages of the app's own origin", () => {
    expect(isAppUrl(`${APP_ORIGIN}/index.html`)).toBe(true);
    for (const u of ["file:///tmp/index.html", "https://evil.example/", "http://127.0.0.1:5173/", "app://evil/index.html",
      "app://fractal.evil/", "devtools://devtools/", "", "not a url", null]) {
      expect(isAppUrl(u), String(u)).toBe(false);
    }
  });

  it("refuses a foreign sender on every method, and the refused call changes nothing", async () => {
    const before = await service.listSweeps();
    for (const url of ["file:///home/me/evil.html", "https://evil.example/", "app://other/index.html", null]) {
      const foreign = makeBridge(new FakeIpcRenderer(ipcMain, url));
      for (const m of API_METHODS) {
        const call = (foreign[m] as (...a: unknown[]) => Promise<unknown>)(rootId, "x");
        await expect(call, `${m} from ${url}`).rejects.toThrow(/refused: the caller .* is not a page of this app/);
      }
      await expect(foreign.deleteSweep(rootId)).rejects.toBeInstanceOf(ApiError);
    }
    expect(await service.listSweeps()).toEqual(before);
  });
});

describe("argument check", () => {
  // Checked before the service sees the call, so the sweep id need not exist.
  const zoom = () => ({ parentId: "some-sweep", window: { x0: 0, x1: 0.5, y0: 0, y1: 0.5 }, points: 8, steps: null, target: "local" });
  const cases: [ApiMethod, unknown[], RegExp][] = [
    ["listSweeps", ["extra"], /listSweeps takes 0 arguments \(none\), got 1/],
    ["getSweep", [], /getSweep takes 1 argument \(id\), got 0/],
    ["getSweep", [42], /id must be a non-empty string .* got number/],
    ["getSweep", [""], /id must be a non-empty string/],
    ["getLayer", ["s", "nope"], /layer must be one of score, scoreTree, trainable, stable, finalLoss, heldoutLoss, oodLoss, got "nope"/],
    ["getCell", ["s", -1], /cell must be an integer >= 0, got number/],
    ["getCell", ["s", 1.5], /cell must be an integer >= 0/],
    ["getCell", ["s", "3"], /cell must be an integer >= 0, got "3"/],
    ["recomputeCurve", ["s"], /recomputeCurve takes 2 arguments \(id, cell\), got 1/],
    ["recomputeCurve", ["s", 2.5], /cell must be an integer >= 0/],
    ["getLayerDelta", ["s", "score", -1], /since must be an integer >= 0, got number/],
    ["getLayerDelta", ["s", "loss", 0], /layer must be one of score/],
    ["getLayerPreview", ["s", "score", 0], /maxSide must be an integer >= 1, got number/],
    ["getAnalysis", ["s", { layer: "score", sequence: false }], /options\.layer must be trainable or stable, got "score"/],
    ["getAnalysis", ["s", { layer: "stable", sequence: 1 }], /options\.sequence must be true or false, got number/],
    ["getAnalysis", ["s", { layer: "stable" }], /options\.sequence is missing/],
    ["previewSweep", [[1, 2], "local"], /spec must be a sweep spec object, got an array of 2/],
    ["previewSweep", [{ name: "x", lr: Number.NaN }, "local"], /spec\.lr must be a finite number/],
    ["previewSweep", [{ when: new Date() }, "local"], /spec\.when must be JSON/],
    ["startSweep", [{ version: 1 }], /startSweep takes 2 arguments \(spec, target\), got 1/],
    ["startSweep", [{ version: 1 }, ""], /target must be a non-empty string/],
    ["previewZoom", [{ ...zoom(), extra: 1 }], /req\.extra is not a field of req/],
    ["previewZoom", [{ ...zoom(), points: 0 }], /req\.points must be an integer >= 1/],
    ["startZoom", [{ ...zoom(), window: { x0: 0, x1: Number.POSITIVE_INFINITY, y0: 0, y1: 1 } }], /req\.window\.x1 must be a finite number/],
    ["startZoom", [{ ...zoom(), target: undefined }], /req\.target must be a non-empty string/],
    ["startZoom", [{ parentId: "some-sweep" }], /req\.window is missing/],
    ["startZoom", [null], /req must be an object/],
    ["renameSweep", ["some-sweep", ""], /name must be a non-empty string/],
    ["renameSweep", ["some-sweep", { toString: "x" }], /name must be a non-empty string .* got object/],
    ["setTags", ["some-sweep", "a,b"], /tags must be an array of at most 100 strings/],
    ["setTags", ["some-sweep", ["ok", 7]], /tags\[1\] must be a non-empty string/],
    ["deleteSweep", ["some-sweep", "and more"], /options must be an object with localOnly, got "and more"/],
    ["cancelSweep", [7], /id must be a non-empty string/],
    ["resumeSweep", [], /resumeSweep takes 1 argument \(id\), got 0/],
    ["fillInSweep", [""], /id must be a non-empty string/],
    ["listTargets", ["local"], /listTargets takes 0 arguments \(none\), got 1/],
    ["listHosts", [1], /listHosts takes 0 arguments \(none\), got 1/],
    ["addHost", [{ alias: "a", hostname: "h", port: 22, user: null }], /host\.python is missing/],
    ["addHost", [{ alias: "a", hostname: "h", port: 0, user: null, python: null }], /host\.port must be an integer >= 1/],
    ["deleteHost", [""], /alias must be a non-empty string/],
    ["testHost", ["gpu", { acceptHostKeys: "yes" }], /options\.acceptHostKeys must be a list of at most 8 fingerprints/],
    ["testHost", ["gpu"], /testHost takes 2 arguments \(alias, options\), got 1/],
    ["listSamples", ["s"], /listSamples takes 2 arguments \(id, cell\), got 1/],
    ["listSamples", ["s", -2], /cell must be an integer >= 0/],
    ["generateSamples", ["s", 0, { prompts: null }], /request\.maxNewTokens is missing/],
    ["generateSamples", ["s", 0, { prompts: null, maxNewTokens: 100000 }], /request\.maxNewTokens must be at most 1024/],
    ["generateSamples", ["s", 0, { prompts: "hi", maxNewTokens: 8 }], /request\.prompts must be null or an array of at most 16 strings, got "hi"/],
    ["generateSamples", ["s", 0, { prompts: ["ok", 3], maxNewTokens: 8 }], /request\.prompts\[1\] must be a non-empty string/],
    ["generateSamples", ["s", 0, { prompts: ["x".repeat(5000)], maxNewTokens: 8 }], /request\.prompts\[0\] must be a non-empty string of at most 4000 characters/],
    ["startReproduction", [{ name: "tanh", points: 16, levels: 1 }], /req\.target is missing/],
    ["startReproduction", [{ name: "tanh", points: 16.5, levels: 1, target: "local" }], /req\.points must be an integer >= 1/],
    ["startReproduction", [{ name: "tanh", points: 16, levels: 1, target: "local", initOffsetForm: "sometimes" }],
      /req\.initOffsetForm must be null, "once" or "every_step", got "sometimes"/],
    ["listReproductions", ["all"], /listReproductions takes 0 arguments \(none\), got 1/],
    ["startSensitivity", ["s", "bits"], /perturbation must be "precision" or "seed", got "bits"/],
    ["getSensitivity", ["s"], /getSensitivity takes 2 arguments \(id, perturbation\), got 1/],
    ["exportSweep", ["s", { format: "xlsx" }], /request\.format must be one of csv, json, png, html, md, got "xlsx"/],
    ["getEarlyWarning", ["s", { layer: "score" }], /options\.layer must be trainable or stable, got "score"/],
    ["listBookmarks", [1], /listBookmarks takes 0 arguments \(none\), got 1/],
    ["addBookmark", [{ sweepId: "s", name: "v", view: { cx: 0, cy: 0, sx: 1 } }], /bookmark\.view\.sy is missing/],
    ["addBookmark", [{ sweepId: "s", name: "v", view: { cx: 0, cy: Infinity, sx: 1, sy: 1 } }], /bookmark\.view\.cy must be a finite number/],
    ["deleteBookmark", ["3"], /id must be an integer >= 1/],
  ];

  it("covers every method", () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(API_METHODS));
  });

  it.each(cases)("%s(%j) is rejected with an error naming the problem", async (method, args, message) => {
    const call = (bridge[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    await expect(call).rejects.toThrow(new RegExp(`^${method}: bad arguments: .*${message.source}`));
  });

  it("a rejected call loses no data", async () => {
    const before = await service.getSweep(rootId);
    await expect(bridge.renameSweep(rootId, "" as string)).rejects.toThrow(ApiError);
    await expect((bridge.setTags as (...a: unknown[]) => Promise<unknown>)(rootId, [1])).rejects.toThrow(ApiError);
    await expect((bridge.deleteSweep as (...a: unknown[]) => Promise<unknown>)(rootId, true)).rejects.toThrow(ApiError);
    expect(await service.getSweep(rootId)).toEqual(before);
  });
});

describe("results, errors and events", () => {
  it("carries the service's own errors back as ApiError with the message intact", async () => {
    const direct = await service.getSweep("no-such-sweep").then(() => null, (e: Error) => e.message);
    expect(direct).toBeTruthy();
    const viaIpc = bridge.getSweep("no-such-sweep");
    await expect(viaIpc).rejects.toBeInstanceOf(ApiError);
    await expect(viaIpc).rejects.toThrow(direct!);
  });

  it("a valid change goes through", async () => {
    const child = store.sweeps().find((s) => s.parent_id === rootId)!;
    const renamed = await bridge.renameSweep(child.id, "renamed over IPC");
    expect(renamed.name).toBe("renamed over IPC");
    expect(store.sweep(child.id)!.name).toBe("renamed over IPC");
    expect((await bridge.setTags(child.id, ["demo", "zoom"])).tags.sort()).toEqual(["demo", "zoom"]);
  });

  it("subscribe delivers events from the event channel until unsubscribed", () => {
    const renderer = new FakeIpcRenderer(ipcMain, `${APP_ORIGIN}/index.html`);
    const api = makeBridge(renderer);
    const got: ApiEvent[] = [];
    const off = api.subscribe((e) => got.push(e));
    const e: ApiEvent = { type: "sweep-deleted", id: "s1" };
    renderer.deliver(EVENT_CHANNEL, e);
    off();
    renderer.deliver(EVENT_CHANNEL, { type: "sweep-deleted", id: "s2" });
    expect(got).toEqual([e]);
    expect(renderer.listenerCount(EVENT_CHANNEL)).toBe(0);
  });
});
