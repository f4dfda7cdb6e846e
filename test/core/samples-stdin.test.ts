// Sample prompts travel on the agent's stdin, never in its argv (issue 15, item 11): a node's `ps`, shell history and
// SSH logs see only numbers. Checked against a transport that records what it was asked to run.
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { agentSamplesCall, HELDOUT_PROMPTS, runAgentSamples } from "../../src-main/core/samples";
import type { Spec } from "../../src-shared/spec";
import type { AgentProcess, Transport } from "../../src-main/core/transport";

const SPEC = { version: 1, name: "s", model: { family: "gpt", checkpoint: "tiny" } } as unknown as Spec;
const PROMPTS = ["secret question; rm -rf ~", "copy: $(whoami)"];

function recordingTransport(seen: { args: string[]; stdin: string }): Transport {
  return {
    label: "fake",
    async agent(args: string[]): Promise<AgentProcess> {
      seen.args = args;
      const chunks: Buffer[] = [];
      const result = JSON.stringify({ cell: 1, final_loss: 0.5, samples: PROMPTS.map((prompt) => ({ prompt, reference: null, base: "b", tuned: "t" })) });
      let finish!: (v: { code: number | null; signal: string | null }) => void;
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => { finish = r; });
      const stdout = Readable.from([result + "\n"]);
      const stdin = new Writable({
        write(c, _e, cb) { chunks.push(Buffer.from(c)); cb(); },
        final(cb) { seen.stdin = Buffer.concat(chunks).toString("utf8"); cb(); setTimeout(() => finish({ code: 0, signal: null }), 20); },
      });
      return { stdin, stdout, stderr: Readable.from([]), exited, kill: () => {} } as unknown as AgentProcess;
    },
    async close() {},
  } as unknown as Transport;
}

describe("samples request to the agent", () => {
  it("sends the prompts on stdin with the spec and keeps them out of argv", async () => {
    const seen = { args: [] as string[], stdin: "" };
    const out = await runAgentSamples(recordingTransport(seen), SPEC, 1, { prompts: PROMPTS, maxNewTokens: 8 });
    expect(out.samples.map((s) => s.prompt)).toEqual(PROMPTS);
    expect(seen.args).toEqual(["samples", "-", "--cell", "1", "--max-new-tokens", "8"]);
    for (const p of PROMPTS) expect(seen.args.join(" ")).not.toContain(p);
    expect(JSON.parse(seen.stdin)).toEqual({ spec: SPEC, prompts: PROMPTS });
  });

  it("asks for held-out prompts with prompts null", () => {
    const call = agentSamplesCall(SPEC, 0, { prompts: null, maxNewTokens: 4 });
    expect(call.args).toEqual(["samples", "-", "--cell", "0", "--max-new-tokens", "4", "--heldout", String(HELDOUT_PROMPTS)]);
    expect(JSON.parse(call.stdin)).toEqual({ spec: SPEC, prompts: null });
  });
});
