// Where a sweep ran (core/numerics.ts) and the recompute check's verdicts (api/recompute.ts): identical, the same
// outcome with other last bits on other numerics, a flipped outcome on the boundary, and the faults the guarantee
// rules out, each said in words that name both machines.
import { describe, expect, it } from "vitest";
import { boundaryDistance, verdict } from "../../src-main/api/recompute";
import { numericsDifferences, ranOn, sameNumerics } from "../../src-main/core/numerics";

const cpu = (kernel: string, extra: Record<string, unknown> = {}) => ({
  agent: "0.1.0", torch: "1.13.0a0", numpy: "1.24.2", platform: "Linux-x86_64", gpus: [],
  numerics: {
    cpu: "AMD EPYC", machine: "x86_64", isa: "x86-64-v4", blas: "OpenBLAS 0.3.21", blas_kernel: kernel,
    pinned: kernel === "Haswell" ? { OPENBLAS_CORETYPE: "Haswell" } : {}, not_pinned: kernel === "Haswell" ? null : "torch loaded first",
    key: `torch 1.13.0a0 · numpy 1.24.2 · OpenBLAS 0.3.21 ${kernel} kernel · x86_64 AVX2+FMA`,
  },
  ...extra,
});

describe("ranOn", () => {
  it("names the CPU, its ISA level, the BLAS and its kernel, torch, numpy and the agent", () => {
    const r = ranOn(cpu("Haswell"))!;
    expect(r.summary).toBe("AMD EPYC (x86-64-v4) · OpenBLAS 0.3.21 Haswell kernel (pinned) · torch 1.13.0a0 · numpy 1.24.2 · agent 0.1.0");
    expect(r.device).toBe("cpu");
    expect(ranOn(cpu("Cooperlake"))!.summary).toContain("Cooperlake kernel, not pinned");
  });

  it("names the GPU and CUDA for a node with GPUs, and says when an older agent recorded no numerics", () => {
    const gpu = ranOn({ agent: "0.1.0", torch: "2.5.1", cuda: "12.4", gpus: [{ name: "NVIDIA H100 80GB HBM3" }, { name: "NVIDIA H100 80GB HBM3" }] })!;
    expect(gpu.summary).toBe("2× NVIDIA H100 80GB HBM3 · CUDA 12.4 · torch 2.5.1 · agent 0.1.0");
    expect(gpu.device).toBe("cuda");
    const old = ranOn({ agent: "0.1.0", torch: "1.13.0a0", platform: "Linux-6.1-x86_64", gpus: [] })!;
    expect(old.key).toBeNull();
    expect(old.summary).toBe("Linux-6.1-x86_64 (CPU and BLAS kernel not recorded) · torch 1.13.0a0 · agent 0.1.0");
    expect(ranOn(null)).toBeNull();
  });

  it("calls numerics the same only when both recorded them and they agree", () => {
    const h = ranOn(cpu("Haswell")), c = ranOn(cpu("Cooperlake"));
    expect(sameNumerics(h, ranOn(cpu("Haswell", { hostname: "another machine" })))).toBe(true);
    expect(sameNumerics(h, c)).toBe(false);
    expect(sameNumerics(h, ranOn(cpu("Haswell", { agent: "0.2.0" })))).toBe(false);
    expect(sameNumerics(h, ranOn({ agent: "0.1.0", gpus: [] }))).toBeNull();
    expect(numericsDifferences(h!, c!)).toEqual(["OpenBLAS 0.3.21 Haswell kernel here, OpenBLAS 0.3.21 Cooperlake kernel there"]);
  });
});

describe("the recompute verdict", () => {
  const here = ranOn(cpu("Haswell")), sameHere = ranOn(cpu("Haswell")), other = ranOn(cpu("Cooperlake"));
  const diff = ["final_loss: recomputed 0.8392025204396517, recorded 0.8392038272739683"];

  it("is identical without a word about numerics", () => {
    expect(verdict("identical", [], here, other, null)).toEqual({ text: "identical to the recorded outcome (bit for bit at the stored precision)", warn: false });
  });

  it("explains other last bits by the machines' numerics, naming both", () => {
    const v = verdict("last-bits", diff, here, other, null);
    expect(v.warn).toBe(false);
    expect(v.text).toMatch(/^the same outcome, its last bits different \(final_loss: recomputed 0\.83920252/);
    expect(v.text).toContain("Haswell kernel here, OpenBLAS 0.3.21 Cooperlake kernel there");
    expect(v.text).toContain("recorded on AMD EPYC (x86-64-v4) · OpenBLAS 0.3.21 Cooperlake kernel, not pinned");
  });

  it("calls a flipped outcome expected on the chaotic boundary, with how near the boundary the cell is", () => {
    const v = verdict("outcome", ["trainable: recomputed 1, recorded 0"], here, other, 1);
    expect(v.warn).toBe(false);
    expect(v.text).toMatch(/^a different outcome \(trainable: recomputed 1, recorded 0\): expected for a cell on the chaotic boundary when numerics differ, and a neighbouring cell has the other outcome/);
    expect(verdict("outcome", ["trainable: x"], here, other, 5).text).toContain("the nearest cell with the other outcome is 5 cells away");
    expect(verdict("outcome", ["trainable: x"], here, other, null).warn).toBe(true); // far from any boundary: suspicious
  });

  it("is a fault when the numerics are the same, and says it cannot tell when the recording did not note them", () => {
    const v = verdict("last-bits", diff, here, sameHere, null);
    expect(v.warn).toBe(true);
    expect(v.text).toContain("The determinism guarantee rules this out");
    const unknown = verdict("last-bits", diff, here, ranOn({ agent: "0.1.0", platform: "Linux", gpus: [] }), null);
    expect(unknown.warn).toBe(false);
    expect(unknown.text).toContain("the recording computer did not note its numerics");
  });
});

describe("boundaryDistance", () => {
  // 5x5, trainable in the left two columns; cell (4,4) is far from them.
  const t = Array.from({ length: 25 }, (_, c) => (c % 5 < 2 ? 1 : 0)), done = new Array(25).fill(1);
  it("counts cells (Chebyshev) to the nearest done cell with the other outcome", () => {
    expect(boundaryDistance(t, done, 5, 5, 2 * 5 + 1)).toBe(1);
    expect(boundaryDistance(t, done, 5, 5, 2 * 5 + 4)).toBe(3);
    expect(boundaryDistance(t, done, 5, 5, 0 * 5 + 4)).toBe(3);
    const notDone = done.map((_, c) => (c % 5 < 2 ? 0 : 1));
    expect(boundaryDistance(t, notDone, 5, 5, 2 * 5 + 4)).toBeNull();
  });
});
