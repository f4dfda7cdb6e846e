import { afterEach, describe, expect, it, vi } from "vitest";
import type { Api, SweepSummary, TargetInfo, ZoomRequest } from "../../src-shared/contract";
import {
  cancelSweep, dismissNotice, onEvent, openZoomDialog, setZoomTarget, updateZoomRequest, useUi,
} from "../../src-renderer/state";
import {
  addNotice, formatDuration, formatRate, gpuSummary, hostGpusLabel, MAX_NOTICES, type Notice, NOTICE_TTL_MS, percent,
  progressFigures, targetLabel, zoomDefaults,
} from "../../src-renderer/sweep-control";
import { clusterTasks } from "../../src-shared/format";

const target = (t: Partial<TargetInfo> & { target: string }): TargetInfo => ({
  kind: "ssh", description: "", gpus: null, device: "h100", count: 1, zoomPoints: 256, probedAt: null, ...t,
});
const LOCAL = target({ target: "local", kind: "local", description: "this computer (CPU)", gpus: [], device: "cpu", zoomPoints: 32 });
const BOX = target({ target: "gpu-box", gpus: Array(8).fill("NVIDIA H100 80GB HBM3 (80 GiB)"), count: 8, zoomPoints: 512 });
const NEW = target({ target: "new-box" });

describe("formatting", () => {
  it("formats durations with two units at most", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(12.4)).toBe("12s");
    expect(formatDuration(59.6)).toBe("1m00s");
    expect(formatDuration(200)).toBe("3m20s");
    expect(formatDuration(3599)).toBe("59m59s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(formatDuration(86_399)).toBe("1d00h");
    expect(formatDuration(2 * 86_400 + 5 * 3600)).toBe("2d05h");
    expect(formatDuration(-1)).toBe("?");
    expect(formatDuration(Number.NaN)).toBe("?");
  });

  it("formats rates, slow ones per hour", () => {
    expect(formatRate(123.4)).toBe("123 cells/s");
    expect(formatRate(4.56)).toBe("4.6 cells/s");
    expect(formatRate(0.05)).toBe("0.05 cells/s");
    expect(formatRate(0.005)).toBe("18 cells/h");
    expect(formatRate(0)).toBe("0 cells/s");
  });

  it("floors the percentage so 100% means done", () => {
    expect(percent(999, 1000)).toBe(99);
    expect(percent(1000, 1000)).toBe(100);
    expect(percent(3, 0)).toBe(0);
  });

  it("takes the larger done count and shows rate and ETA only while running", () => {
    const p = { type: "progress" as const, sweepId: "a", done: 60, total: 100, rate: 2, eta: 20, status: "running" as const };
    expect(progressFigures({ doneCells: 50, cells: 100, status: "running" }, p))
      .toEqual({ done: 60, total: 100, percent: 60, rate: "2 cells/s", eta: "20s", tasks: null });
    expect(progressFigures({ doneCells: 50, cells: 100, status: "submitted" }, undefined))
      .toEqual({ done: 50, total: 100, percent: 50, rate: null, eta: null, tasks: null });
    expect(progressFigures({ doneCells: 50, cells: 100, status: "running" }, { ...p, eta: null }).eta).toBe("?");
  });

  it("shows a Slurm sweep's array tasks, lost ones only when there are some", () => {
    const p = { type: "progress" as const, sweepId: "a", done: 0, total: 100, rate: 0, eta: null, status: "running" as const,
      tasks: { jobs: ["41"], pending: 1, running: 2, finished: 0, lost: 0 } };
    expect(progressFigures({ doneCells: 0, cells: 100, status: "running" }, p).tasks).toBe("Slurm tasks: 2 running, 1 pending, 0 finished");
    expect(progressFigures({ doneCells: 0, cells: 100, status: "running" }, { ...p, tasks: { ...p.tasks, finished: 2, lost: 1 } }).tasks)
      .toBe("Slurm tasks: 2 running, 1 pending, 2 finished, 1 lost");
    expect(clusterTasks({ type: "tasks", jobs: [41], pending: 0, running: 1, finished: 0, lost: 0 })).toEqual(
      { jobs: ["41"], pending: 0, running: 1, finished: 0, lost: 0 });
    expect(clusterTasks({ type: "tasks", jobs: [41], pending: -1, running: 1, finished: 0, lost: 0 })).toBeNull();
    expect(clusterTasks({ type: "tasks", pending: 0, running: 1, finished: 0, lost: 0 })).toBeNull();
  });

  it("summarises GPUs and labels targets", () => {
    expect(gpuSummary(["NVIDIA A100-SXM4-80GB (80 GiB)", "NVIDIA A100-SXM4-80GB (80 GiB)", "Tesla T4 (15 GiB)"]))
      .toBe("2× A100-SXM4-80GB, 1× Tesla T4");
    expect(gpuSummary([])).toBeNull();
    expect(hostGpusLabel(null)).toBe("not probed");
    expect(hostGpusLabel([])).toBe("no GPU");
    expect(targetLabel(BOX)).toBe("gpu-box — 8× H100 80GB HBM3");
    expect(targetLabel(LOCAL)).toBe("local — CPU");
    expect(targetLabel(NEW)).toBe("new-box — not probed (estimated as 1× h100)");
  });
});

describe("notices", () => {
  const n = (id: number, message = `m${id}`, level: Notice["level"] = "info"): Notice => ({ id, level, message, sweepId: null });

  it("keeps the newest first, at most MAX_NOTICES, and moves a repeated message to the top", () => {
    let list: Notice[] = [];
    for (let i = 1; i <= 6; i++) list = addNotice(list, n(i));
    expect(list.map((x) => x.id)).toEqual([6, 5, 4, 3].slice(0, MAX_NOTICES));
    list = addNotice(list, n(7, "m4"));
    expect(list.map((x) => x.id)).toEqual([7, 6, 5, 3]);
    list = addNotice(list, n(8, "m7", "error")); // same text at another level is another notice
    expect(list[0].id).toBe(8);
  });

  afterEach(() => { vi.useRealTimers(); });

  it("dismisses info and done notices after the TTL, keeps errors, and stores the level", () => {
    vi.useFakeTimers();
    useUi.setState({ notices: [] });
    onEvent({ type: "notice", sweepId: "s1", message: "sweep s1 completed", level: "done" });
    onEvent({ type: "notice", sweepId: "s2", message: "sweep s2 failed: OOM", level: "error" });
    onEvent({ type: "notice", sweepId: null, message: "plain" });
    expect(useUi.getState().notices.map((x) => [x.level, x.message])).toEqual([
      ["info", "plain"], ["error", "sweep s2 failed: OOM"], ["done", "sweep s1 completed"],
    ]);
    vi.advanceTimersByTime(NOTICE_TTL_MS + 1);
    const left = useUi.getState().notices;
    expect(left.map((x) => x.level)).toEqual(["error"]);
    dismissNotice(left[0].id);
    expect(useUi.getState().notices).toEqual([]);
  });
});

describe("zoom dialog defaults", () => {
  it("picks the parent's target when listed, else local, and that target's resolution", () => {
    expect(zoomDefaults([LOCAL, BOX], "gpu-box")).toEqual({ target: "gpu-box", points: 512 });
    expect(zoomDefaults([LOCAL, BOX], "gone-box")).toEqual({ target: "local", points: 32 });
    expect(zoomDefaults(null, "gpu-box")).toEqual({ target: "local", points: 24 });
  });

  const sweep = (id: string, t: string): SweepSummary => ({
    id, name: id, parentId: null, family: "mlp", window: { x0: 0, x1: 1, y0: 0, y1: 1 }, nx: 8, ny: 8, cells: 64, doneCells: 64,
    status: "completed", target: t, error: null, xAxis: { param: "a", scale: "log" }, yAxis: { param: "b", scale: "log" },
    tags: [], createdAt: "", updatedAt: "", ranOn: null,
  });

  /** A fake Api with just what the dialog calls; listTargets resolves when the test says. */
  function fakeApi() {
    let release!: (t: TargetInfo[]) => void;
    const previews: ZoomRequest[] = [];
    const api = {
      listTargets: () => new Promise<TargetInfo[]>((r) => { release = r; }),
      previewZoom: async (req: ZoomRequest) => { previews.push(req); return { spec: {}, window: req.window, cost: {}, warnings: [] }; },
      cancelSweep: async () => { throw new Error("node unreachable"); },
    } as unknown as Api;
    return { api, previews, release: (t: TargetInfo[]) => release(t) };
  }
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it("defaults to the parent's target and its zoom points once the targets arrive", async () => {
    const f = fakeApi();
    useUi.setState({ api: f.api, targets: null, zoomDialog: null, sweeps: { p: sweep("p", "gpu-box") } });
    const opened = openZoomDialog("p", { x0: 0, x1: 0.5, y0: 0, y1: 0.5 });
    expect(useUi.getState().zoomDialog!.req).toMatchObject({ target: "local", points: 24 });
    expect(f.previews).toEqual([]); // no preview of a placeholder request
    f.release([LOCAL, BOX]);
    await opened;
    expect(useUi.getState().zoomDialog!.req).toMatchObject({ target: "gpu-box", points: 512 });
    expect(f.previews.at(-1)).toMatchObject({ target: "gpu-box", points: 512 });
    // another target: points follow it
    await setZoomTarget("local");
    expect(useUi.getState().zoomDialog!.req).toMatchObject({ target: "local", points: 32 });
    // typed points stay when the target changes
    await updateZoomRequest({ points: 16 });
    await setZoomTarget("gpu-box");
    expect(useUi.getState().zoomDialog!.req).toMatchObject({ target: "gpu-box", points: 16 });
  });

  it("keeps points typed before the targets arrive; a cached list gives defaults at once", async () => {
    const f = fakeApi();
    useUi.setState({ api: f.api, targets: null, zoomDialog: null, sweeps: { p: sweep("p", "gpu-box") } });
    const opened = openZoomDialog("p", { x0: 0, x1: 0.5, y0: 0, y1: 0.5 });
    await updateZoomRequest({ points: 16 });
    f.release([LOCAL, BOX]);
    await opened;
    expect(useUi.getState().zoomDialog!.req).toMatchObject({ target: "gpu-box", points: 16 });

    useUi.setState({ zoomDialog: null });
    const again = openZoomDialog("p", { x0: 0, x1: 0.5, y0: 0, y1: 0.5 });
    expect(useUi.getState().zoomDialog!.req).toMatchObject({ target: "gpu-box", points: 512 });
    f.release([LOCAL, BOX]);
    await again;
    await flush();
    expect(useUi.getState().zoomDialog!.preview).not.toBeNull();
  });

  it("reports a failed cancel as an error notice", async () => {
    const f = fakeApi();
    useUi.setState({ api: f.api, notices: [], sweeps: { p: sweep("p", "gpu-box") } });
    expect(await cancelSweep("p")).toBe(false);
    expect(useUi.getState().notices[0]).toMatchObject({ level: "error", sweepId: "p" });
    expect(useUi.getState().notices[0].message).toMatch(/node unreachable/);
  });
});
