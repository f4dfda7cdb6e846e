// Samples of one SFT cell: the agent's `samples` command re-trains the cell alone and answers prompts greedily with
// the base and the fine-tuned model (remote-agent/fractal_agent/samples.py). The spec and the prompts go to the agent
// on stdin as {"spec", "prompts"}, so nothing is written on the node and no prompt text appears in a command line
// (ps on the node, shell history, SSH logs): argv carries only numbers. Results are
// kept in the store per (cell, request): greedy decoding is deterministic, so a repeated request is answered from
// there, offline.

import { type CellSamples, HELDOUT_PROMPTS, reproduced, type Sample, type SamplesRequest } from "../../src-shared/samples";
import { canonicalJson, type Spec } from "../../src-shared/spec";
import type { Store } from "./store";
import type { Transport } from "./transport";

export { type CellSamples, HELDOUT_PROMPTS, reproduced, type Sample, type SamplesRequest };

export const MAX_PROMPTS = 16;
export const MAX_PROMPT_CHARS = 4000;
export const MAX_NEW_TOKENS = 1024;

/** A samples call that cannot be answered: bad input ("input": the sweep, cell or request) or the agent failed ("agent"). */
export class SamplesError extends Error {
  constructor(message: string, readonly kind: "input" | "agent" = "input") {
    super(message);
  }
}

/** The request checked and normalised (blank prompts dropped; none left means held-out prompts). */
export function checkSamplesRequest(req: unknown): SamplesRequest {
  const r = req as Partial<SamplesRequest> | null;
  if (typeof r !== "object" || r === null) throw new SamplesError("a samples request is {prompts: string[] | null, maxNewTokens: number}");
  const n = r.maxNewTokens;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_NEW_TOKENS) {
    throw new SamplesError(`maxNewTokens must be an integer in 1..${MAX_NEW_TOKENS}, got ${JSON.stringify(n)}`);
  }
  if (r.prompts === null || r.prompts === undefined) return { prompts: null, maxNewTokens: n };
  if (!Array.isArray(r.prompts) || r.prompts.some((p) => typeof p !== "string")) {
    throw new SamplesError("prompts must be a list of strings, or null for the sweep's held-out prompts");
  }
  const prompts = r.prompts.filter((p) => p.trim() !== "");
  if (prompts.length > MAX_PROMPTS) throw new SamplesError(`at most ${MAX_PROMPTS} prompts at a time, got ${prompts.length}`);
  const long = prompts.find((p) => p.length > MAX_PROMPT_CHARS);
  if (long !== undefined) throw new SamplesError(`a prompt may have at most ${MAX_PROMPT_CHARS} characters, got one of ${long.length}`);
  return { prompts: prompts.length ? prompts : null, maxNewTokens: n };
}


function requestKey(req: SamplesRequest): string {
  return canonicalJson({ max_new_tokens: req.maxNewTokens, prompts: req.prompts });
}

interface AgentSamples { cell: number; final_loss: number; samples: Sample[] }

function parseAgentSamples(stdout: string, cell: number): AgentSamples {
  let out: AgentSamples;
  try {
    out = JSON.parse(stdout.trim().split("\n").pop() ?? "");
  } catch {
    throw new SamplesError(`the agent's samples command printed no JSON result: ${JSON.stringify(stdout.slice(-300))}`, "agent");
  }
  const ok = out && out.cell === cell && typeof out.final_loss === "number" && Array.isArray(out.samples)
    && out.samples.every((s) => typeof s.prompt === "string" && typeof s.base === "string" && typeof s.tuned === "string"
      && (s.reference === null || typeof s.reference === "string"));
  if (!ok) throw new SamplesError(`the agent's samples result is not in the expected shape: ${stdout.slice(0, 300)}`, "agent");
  return out;
}

/** The agent's command line and stdin for a samples request: prompts on stdin only, never in argv. */
export function agentSamplesCall(spec: Spec, cell: number, req: SamplesRequest): { args: string[]; stdin: string } {
  const args = ["samples", "-", "--cell", String(cell), "--max-new-tokens", String(req.maxNewTokens)];
  if (!req.prompts) args.push("--heldout", String(HELDOUT_PROMPTS));
  return { args, stdin: canonicalJson({ spec, prompts: req.prompts }) + "\n" };
}

/** Run the agent's samples command for `cell` of `spec` on `transport`. */
export async function runAgentSamples(transport: Transport, spec: Spec, cell: number, req: SamplesRequest): Promise<AgentSamples> {
  const call = agentSamplesCall(spec, cell, req);
  const p = await transport.agent(call.args);
  let stdout = "", stderr = "";
  p.stdout.on("data", (d: Buffer) => { stdout += d.toString("utf8"); });
  p.stderr.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
  p.stdin.end(call.stdin);
  const { code, signal } = await p.exited;
  if (code !== 0) {
    const why = stderr.trim().split("\n").slice(-5).join("\n") || `exit ${code ?? signal ?? "(connection lost)"}`;
    throw new SamplesError(`samples of cell ${cell} on ${transport.label} failed: ${why}`, "agent");
  }
  return parseAgentSamples(stdout, cell);
}

function toCellSamples(sweepId: string, cell: number, req: SamplesRequest, result: AgentSamples, createdAt: string, recorded: number | null): CellSamples {
  return { sweepId, cell, request: req, samples: result.samples, finalLoss: result.final_loss, recordedFinalLoss: recorded, createdAt };
}

function recordedFinalLoss(store: Store, sweepId: string, cell: number): number | null {
  if (store.loadDone(sweepId)[cell] !== 1 || !("final_loss" in store.fields(sweepId))) return null;
  const v = store.loadField(sweepId, "final_loss")[cell];
  return Number.isNaN(v) ? null : v;
}

function checkCell(store: Store, sweepId: string, cell: number): Spec {
  const s = store.sweep(sweepId);
  if (!s) throw new SamplesError(`unknown sweep ${sweepId} in ${store.path}`);
  if (s.spec.model.family !== "gpt") throw new SamplesError(`sweep ${sweepId} trains the ${s.spec.model.family} model; samples need a language model sweep (model.family gpt)`);
  if (!(Number.isInteger(cell) && cell >= 0 && cell < s.cells)) throw new SamplesError(`cell must be an integer in 0..${s.cells - 1} for sweep ${sweepId}, got ${JSON.stringify(cell)}`);
  return s.spec;
}

/** The samples kept for a cell, newest first. */
export function storedSamples(store: Store, sweepId: string, cell: number): CellSamples[] {
  checkCell(store, sweepId, cell);
  const recorded = recordedFinalLoss(store, sweepId, cell);
  return store.samples(sweepId, cell).map((r) => {
    const q = JSON.parse(r.request) as { max_new_tokens: number; prompts: string[] | null };
    return toCellSamples(sweepId, cell, { prompts: q.prompts, maxNewTokens: q.max_new_tokens }, r.result as AgentSamples, r.created_at, recorded);
  });
}

/**
 * The cell's samples for `req`: from the store when this request was answered before, else from the agent on the
 * transport `connect()` gives (closed afterwards), kept in the store.
 */
export async function cellSamples(store: Store, sweepId: string, cell: number, rawReq: unknown, connect: () => Promise<Transport>): Promise<CellSamples> {
  const spec = checkCell(store, sweepId, cell);
  const req = checkSamplesRequest(rawReq);
  const key = requestKey(req);
  const recorded = recordedFinalLoss(store, sweepId, cell);
  const kept = store.samples(sweepId, cell, key)[0];
  if (kept) return toCellSamples(sweepId, cell, req, kept.result as AgentSamples, kept.created_at, recorded);
  const transport = await connect();
  let result: AgentSamples;
  try {
    result = await runAgentSamples(transport, spec, cell, req);
  } finally {
    await transport.close();
  }
  return toCellSamples(sweepId, cell, req, result, store.putSamples(sweepId, cell, key, result), recorded);
}
