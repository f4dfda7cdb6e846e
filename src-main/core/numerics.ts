// Where a sweep ran, read off the agent's `env` (remote-agent/fractal_agent/envinfo.py and numerics.py), and whether
// two machines' numbers are promised to be the same bits (docs/ARCHITECTURE.md "Determinism"). Pure: no I/O.

/** One line a researcher reads, and the key that is equal exactly when the guarantee covers both machines. */
export interface RanOn {
  /** e.g. "AMD EPYC (x86-64-v4) · OpenBLAS 0.3.21 Haswell kernel (pinned) · torch 1.13.0 · numpy 1.24.2 · agent 0.1.0" */
  summary: string;
  /** numerics.describe's key on CPU, the GPU model with CUDA and torch on a GPU; null where the env did not say. */
  key: string | null;
  device: "cpu" | "cuda";
  /** The parts of `key` (" · "-separated), to name which of them two machines differ in. */
  parts: string[];
  agent: string | null;
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

/** Where the agent whose `env` this is trains, or null for a sweep without one (never started, or a hand-made store). */
export function ranOn(env: unknown): RanOn | null {
  if (!env || typeof env !== "object") return null;
  const e = env as Obj;
  const agent = str(e.agent), torch = str(e.torch), numpy = str(e.numpy);
  const tail = [torch && `torch ${torch}`, numpy && `numpy ${numpy}`, agent && `agent ${agent}`].filter(Boolean) as string[];
  const gpus = Array.isArray(e.gpus) ? (e.gpus as unknown[]).map((g) => (g && typeof g === "object" ? str((g as Obj).name) : null)).filter(Boolean) as string[] : [];
  if (gpus.length) {
    // The daemon trains on the GPUs when it has them; cuBLAS is deterministic for a fixed shape and architecture.
    const parts = [`${gpus[0]}`, `CUDA ${str(e.cuda) ?? "?"}`, `torch ${torch ?? "?"}`];
    const count = gpus.length > 1 ? `${gpus.length}× ` : "";
    return { summary: [`${count}${gpus[0]}`, `CUDA ${str(e.cuda) ?? "?"}`, ...tail].join(" · "), key: parts.join(" · "), parts, device: "cuda", agent };
  }
  const n = e.numerics && typeof e.numerics === "object" ? e.numerics as Obj : null;
  if (!n) {
    // Agents before numerics.py recorded neither the CPU nor the BLAS kernel.
    const where = str(e.platform) ?? "an unrecorded CPU";
    return { summary: [`${where} (CPU and BLAS kernel not recorded)`, ...tail].join(" · "), key: null, parts: [], device: "cpu", agent };
  }
  const pinned = n.pinned && typeof n.pinned === "object" && Object.keys(n.pinned as Obj).length > 0;
  const blas = `${str(n.blas) ?? "unknown BLAS"} ${str(n.blas_kernel) ?? "?"} kernel${pinned ? " (pinned)" : ", not pinned"}`;
  const key = str(n.key);
  return {
    summary: [`${str(n.cpu) ?? "unknown CPU"} (${str(n.isa) ?? "?"})`, blas, ...tail].join(" · "),
    key, parts: key ? key.split(" · ") : [], device: "cpu", agent,
  };
}

/**
 * Whether the guarantee says `a` and `b` give the same bits: true or false where both recorded their numerics, null
 * where either did not (an older agent), so nobody is told a difference is, or is not, expected without knowing.
 */
export function sameNumerics(a: RanOn | null, b: RanOn | null): boolean | null {
  if (!a?.key || !b?.key) return null;
  return a.key === b.key && a.agent === b.agent;
}

/** The parts two machines differ in, as "here X, there Y" phrases (agent versions included). */
export function numericsDifferences(here: RanOn, there: RanOn): string[] {
  const out: string[] = [];
  if (here.device !== there.device) out.push(`${here.device === "cuda" ? "a GPU" : "a CPU"} here, ${there.device === "cuda" ? "a GPU" : "a CPU"} there`);
  else {
    const a = new Set(here.parts), b = new Set(there.parts);
    const onlyHere = here.parts.filter((p) => !b.has(p)), onlyThere = there.parts.filter((p) => !a.has(p));
    for (let i = 0; i < Math.max(onlyHere.length, onlyThere.length); i++) {
      out.push(`${onlyHere[i] ?? "—"} here, ${onlyThere[i] ?? "—"} there`);
    }
  }
  if (here.agent !== there.agent) out.push(`agent ${here.agent ?? "?"} here, ${there.agent ?? "?"} there`);
  return out;
}
