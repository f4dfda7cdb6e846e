// End to end, an SFT sweep: the tiny GPT fine-tuned by the real agent (through the CLI) with held-out, OOD and a
// handmade multiple-choice eval, served by browser mode in headless Chromium. The inspector shows each metric beside
// the base model's, and generates samples (base vs fine-tuned) that match the agent's own samples command.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src-main/core/local-transport";
import { colourLayer } from "../../src-main/analysis/colour";
import { openStore, type Store } from "../../src-main/core/store";
import { sweepMap } from "../../src-main/core/sweep-maps";
import type { WebServer } from "../../src-main/web/server";
import { formatSig } from "../../src-renderer/ticks";
import { ARTIFACTS, cellOnPage, closeOpened, pixel, settled, shot, sweepAndOpen, viewState } from "./page";

const PYTHON = "/usr/bin/python3";
const NX = 3, NY = 2;
const SPEC = {
  version: 1, name: "e2e tiny SFT",
  model: { family: "gpt", checkpoint: "tiny" },
  data: { dataset: "synthetic:copy,reverse", seq_len: 32, heldout: 4, ood: "synthetic:sort", evals: ["piqa:4"] },
  train: { optimizer: "adamw", steps: 6, batch_size: 4, precision: "float32" },
  axes: { x: { param: "lr", scale: "log", range: [-4, -0.5], points: NX }, y: { param: "dataset_size", scale: "log", range: [1, 1.5], points: NY } },
  criterion: { window: 3 },
};
// PIQA rows in the Hugging Face dataset's fields (goal, sol1, sol2, label).
const PIQA = [
  { goal: "To open a jar", sol1: "twist the lid", sol2: "sing to it", label: 0 },
  { goal: "To dry wet hands", sol1: "wave them at the moon", sol2: "use a towel", label: 1 },
  { goal: "To see in the dark", sol1: "turn on a lamp", sol2: "close both eyes", label: 0 },
  { goal: "To cool hot soup", sol1: "add more heat", sol2: "let it sit a while", label: 1 },
];

let dir: string, dbPath: string, server: WebServer, browser: Browser, page: Page, store: Store, id: string;

async function clickCell(ix: number, iy: number): Promise<void> {
  const st = await viewState(page);
  const p = cellOnPage(st, store.sweep(id)!.window, NX, ix, iy, NY);
  await page.mouse.click(p.x, p.y);
  await page.locator(`[data-testid=inspector] h3:has-text("cell (${ix}, ${iy})")`).waitFor();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "fractal-e2e-sft-"));
  dbPath = join(dir, "sweeps.sqlite");
  writeFileSync(join(dir, "spec.json"), JSON.stringify(SPEC));
  writeFileSync(join(dir, "piqa.jsonl"), PIQA.map((r) => JSON.stringify(r) + "\n").join(""));
  // The CLI's agent and the server's (samples re-train a cell, evals included) read the evals from here.
  process.env.FRACTAL_AGENT_EVALS = dir;
  process.env.FRACTAL_AGENT_HOME = join(dir, "agent-home");
  ({ id, server, browser, page } = await sweepAndOpen(join(dir, "spec.json"), dbPath, dir));
  store = openStore(dbPath);
  await settled(page);
}, 300_000);

afterAll(async () => {
  await closeOpened({ browser, server, store }, join(dir, "agent-home")); // the daemon the sweep and samples started
  delete process.env.FRACTAL_AGENT_EVALS;
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("SFT inspector", () => {
  it("shows each held-out, OOD and multiple-choice result beside the base model's, with the difference", async () => {
    const base = store.sweep(id)!.base!;
    expect(base.evals.piqa.n).toBe(4);
    for (const [ix, iy] of [[0, 0], [2, 1]]) {
      await clickCell(ix, iy);
      const cell = iy * NX + ix;
      const stored = (f: string) => store.loadField(id, f)[cell];
      const want: [string, number, number][] = [
        ["held-out loss", base.heldout_loss!, stored("heldout_loss")],
        ["OOD loss", base.ood_loss!, stored("ood_loss")],
        ["piqa acc", base.evals.piqa.acc, stored("eval.piqa.acc")],
        ["piqa acc_norm", base.evals.piqa.acc_norm, stored("eval.piqa.acc_norm")],
      ];
      const rows = page.locator("[data-testid=evals] tbody tr");
      expect(await rows.count()).toBe(want.length);
      for (const [metric, b, c] of want) {
        const row = page.locator(`[data-testid=evals] tr[data-metric="${metric}"]`);
        expect(await row.locator("[data-testid=eval-base]").textContent()).toBe(formatSig(b, 4));
        expect(await row.locator("[data-testid=eval-cell]").textContent()).toBe(formatSig(c, 4));
        const delta = c - b;
        expect(await row.locator("[data-testid=eval-delta]").textContent()).toBe((delta > 0 ? "+" : "") + formatSig(delta, 3));
        const lowerIsBetter = metric.endsWith("loss");
        const cls = await row.locator("[data-testid=eval-delta]").getAttribute("class");
        expect(cls).toBe(delta === 0 ? "same" : (delta < 0) === lowerIsBetter ? "gained" : "forgot");
      }
    }
    await page.screenshot({ path: join(ARTIFACTS, "20-sft-evals.png") });
  });

  it("draws the OOD-loss layer in the colours the analysis code gives it", async () => {
    await page.locator("[data-testid=layer]").selectOption("oodLoss");
    await page.locator("[data-testid=legend] h3:has-text('OOD loss')").waitFor();
    await page.mouse.move(2, 2);
    await settled(page);
    const img = await shot(page, "22-sft-ood-layer");
    const expected = colourLayer(sweepMap(store, id), "oodLoss").rgba;
    const st = await viewState(page);
    for (let iy = 0; iy < NY; iy++) {
      for (let ix = 0; ix < NX; ix++) {
        const i = iy * NX + ix, p = cellOnPage(st, store.sweep(id)!.window, NX, ix, iy, NY);
        const got = pixel(img, p.x, p.y);
        for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - expected[4 * i + c]), `cell (${ix},${iy}) ${got} vs ${expected.slice(4 * i, 4 * i + 3)}`).toBeLessThanOrEqual(3);
      }
    }
    await page.locator("[data-testid=layer]").selectOption("score");
  });

  it("generates samples for a clicked cell, base and fine-tuned side by side, equal to the agent's own", async () => {
    const [ix, iy] = [2, 0];
    await clickCell(ix, iy);
    expect(await page.locator("[data-testid=sample-set]").count()).toBe(0);
    await page.locator("[data-testid=samples-prompts]").fill("copy: abc\nreverse: wxyz");
    await page.locator("[data-testid=samples-tokens]").fill("10");
    await page.locator("[data-testid=samples-generate]").click();
    await page.locator("[data-testid=sample-set]").waitFor({ timeout: 120_000 });
    await page.locator("aside").screenshot({ path: join(ARTIFACTS, "21-sft-samples.png") });

    const direct = JSON.parse(execFileSync(PYTHON, ["-m", "fractal_agent", "samples", "-", "--cell", String(iy * NX + ix),
      "--prompt", "copy: abc", "--prompt", "reverse: wxyz", "--max-new-tokens", "10"],
    { input: JSON.stringify(store.sweep(id)!.spec), cwd: join(REPO_ROOT, "remote-agent"), env: { ...process.env, PYTHONPATH: join(REPO_ROOT, "remote-agent") } }).toString());
    const shown = await page.locator("[data-testid=sample]").evaluateAll((els) => els.map((e) => ({
      prompt: e.querySelector("[data-testid=sample-prompt]")!.textContent,
      base: e.querySelector("[data-testid=sample-base]")!.textContent,
      tuned: e.querySelector("[data-testid=sample-tuned]")!.textContent,
    })));
    expect(shown).toEqual(direct.samples.map((s: { prompt: string; base: string; tuned: string }) => ({ prompt: s.prompt, base: s.base, tuned: s.tuned })));
    expect(await page.locator("[data-testid=sample-set]").textContent()).toContain("re-run reproduced the cell");

    // Kept in the database: selecting another cell and coming back shows them without generating again.
    await clickCell(0, 0);
    expect(await page.locator("[data-testid=sample-set]").count()).toBe(0);
    await clickCell(ix, iy);
    await page.locator("[data-testid=sample-set]").waitFor();
    expect(await page.locator("[data-testid=sample-base]").allTextContents()).toEqual(direct.samples.map((s: { base: string }) => s.base));
  }, 180_000);

  it("answers the held-out prompts when none are given, showing each reference reply", async () => {
    await clickCell(1, 1);
    await page.locator("[data-testid=samples-prompts]").fill("");
    await page.locator("[data-testid=samples-tokens]").fill("6");
    await page.locator("[data-testid=samples-generate]").click();
    await page.locator("[data-testid=sample-set]").waitFor({ timeout: 120_000 });
    const held = JSON.parse(execFileSync(PYTHON, ["-c",
      "import json; from fractal_agent import data as D; _, h = D.load_split('synthetic:copy,reverse', 0, 3, 0); "
      + "print(json.dumps([[c['messages'][0]['content'], 'reference: ' + c['messages'][1]['content']] for c in h]))"],
    { env: { ...process.env, PYTHONPATH: join(REPO_ROOT, "remote-agent") } }).toString());
    const prompts = await page.locator("[data-testid=sample-prompt]").allTextContents();
    const refs = await page.locator("[data-testid=sample-reference]").allTextContents();
    expect(prompts.map((p, i) => [p, refs[i]])).toEqual(held);
  }, 180_000);
});
