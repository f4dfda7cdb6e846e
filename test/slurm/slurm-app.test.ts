// A Slurm cluster from the app alone (issue 12), all real parts: a one-node Slurm cluster (cluster.ts), an sshd on
// 127.0.0.1 as its login node (a fresh account: no agent, host key unknown), browser mode in headless Chromium.
// The researcher adds the cluster in the host manager with its Slurm settings and sees its partitions, starts a
// sweep on it from the editor, watches the array's tasks in the footer, cancels it (the array is scancelled),
// resumes it from the library, and every cell is recorded exactly once.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";
import { agentJournal } from "../cli/helpers";
import { stopAgentDaemon } from "../core/helpers";
import { ARTIFACTS, fillMlpSweep, launchChromium, shot } from "../e2e/page";
import { keygen, startSshd, type Sshd } from "../ssh/harness";
import { startSlurmCluster } from "./cluster";

const PYTHON = "/usr/bin/python3";
const ALIAS = "cluster";
const N = 12;

const cluster = startSlurmCluster();
if (!cluster.ok) console.warn(`skipping the Slurm app test: slurmctld cannot start here: ${cluster.reason}`);

let sshd: Sshd, dir: string, home: string, server: WebServer, browser: Browser, page: Page, store: Store;

describe.skipIf(!cluster.ok)("the app runs a sweep on a Slurm cluster through its login node", () => {
  beforeAll(async () => {
    if (!cluster.ok) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), "fractal-e2e-slurm-"));
    home = join(dir, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    const key = keygen(join(home, ".ssh", "id_ed25519"));
    sshd = await startSshd({ authorizedKeys: [key.publicLine] });
    // As on a cluster whose ~/.bashrc loads Slurm's environment (bash reads it for sshd's commands).
    writeFileSync(join(sshd.remoteHome, ".bashrc"), `export SLURM_CONF=${cluster.conf}\n`);
    const dbPath = join(dir, "sweeps.sqlite");
    server = await startWebServer({ dbPath, port: 0, open: false, home, trustFile: join(home, "trusted_hosts.json"),
      agentSocket: null, localAgentHome: join(dir, "local-agent") });
    server.service.subscribe((e) => { if (e.type === "notice") process.stderr.write(`notice (${e.level ?? "info"}): ${e.message}\n`); });
    store = openStore(dbPath);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
    await page.goto(server.url);
    await page.locator("[data-testid=progress]").waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (cluster.ok) cluster.stop(); // scancels what is left, before the login node's daemon goes
    await sshd?.stop();
    if (dir) await stopAgentDaemon(join(dir, "local-agent"));
    store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("adds the cluster with its Slurm settings and shows the partitions sinfo lists there", async () => {
    await page.locator("[data-testid=tab-hosts]").click();
    const fill = async (field: string, value: string) => page.locator(`[data-testid=host-add-${field}]`).fill(value);
    await fill("alias", ALIAS);
    await fill("hostname", "127.0.0.1");
    await fill("port", String(sshd.port));
    await fill("user", userInfo().username);
    await fill("python", PYTHON);
    await page.locator("[data-testid=host-add-slurm]").check();
    // A bad setting is named and nothing is saved.
    await fill("slurm-time", "soon");
    await page.locator("[data-testid=host-add-save]").click();
    await expect.poll(() => page.locator("[data-testid=host-add-error]").textContent()).toMatch(/scheduler\.time must be a Slurm time limit/);
    expect(store.host(ALIAS)).toBeUndefined();
    await fill("slurm-time", "30");
    await fill("slurm-tasks", "3");
    await fill("slurm-partition", "debug");
    await page.locator("[data-testid=host-add-save]").click();
    const row = page.locator(`[data-testid=host-row][data-alias=${ALIAS}]`);
    await expect.poll(() => row.locator("[data-testid=host-scheduler]").textContent()).toMatch(/slurm: 3 tasks, partition debug, 30/);

    await row.locator("[data-testid=host-test]").click();
    await row.locator("[data-testid=hostkey-prompt]").waitFor({ timeout: 60_000 });
    await row.locator("[data-testid=hostkey-accept]").click();
    await row.locator("[data-testid=host-ok]").waitFor({ timeout: 120_000 }); // agent installed on the login node, probed
    await expect.poll(() => row.locator("[data-testid=host-scheduler]").textContent(), { timeout: 30_000 }).toMatch(/partitions: debug\*/);
    await shot(page, "slurm-01-host");
  }, 240_000);

  it("starts a sweep from the editor, shows the array's tasks, cancels the array and resumes it to every cell once", async () => {
    // Long enough cells (~3 s a 16-cell chunk here, 3 chunks a task) that the tasks are still training when the
    // sweep is cancelled, a second or two after the footer shows them running.
    await fillMlpSweep(page, { target: ALIAS, name: "on the cluster", width: 4, lo: -1, hi: 2, points: N, steps: 20000 });
    await page.locator("[data-testid=editor-start]").click();

    await expect.poll(() => store.sweeps().length, { timeout: 120_000 }).toBe(1);
    const id = store.sweeps()[0].id;
    expect(store.sweep(id)!.target).toBe(ALIAS);
    const item = page.locator(`[data-testid=progress-item][data-id=${id}]`);
    // The footer shows the job array's tasks as the login node sees them in the queue.
    await expect.poll(() => item.locator("[data-testid=progress-tasks]").textContent(), { timeout: 120_000, interval: 200 })
      .toMatch(/Slurm tasks: [1-3] running/);
    await shot(page, "slurm-02-tasks");
    const stateFile = join(sshd.remoteHome, ".fractal-agent", "sweeps", id, "slurm", "state.json");
    expect(existsSync(stateFile)).toBe(true);
    const job = JSON.parse(readFileSync(stateFile, "utf8")).rounds[0].job as string;
    expect(cluster.ok && cluster.squeue().some((t) => t.job === job)).toBe(true);

    // Cancel from the footer: the array leaves the queue, finished cells are kept.
    await item.locator("[data-testid=sweep-cancel]").click();
    await expect.poll(() => store.sweep(id)!.status, { timeout: 120_000, interval: 200 }).toBe("cancelled");
    expect(cluster.ok && cluster.squeue().filter((t) => t.job === job)).toEqual([]);
    const kept = store.sweep(id)!.done_cells;
    expect(kept).toBeLessThan(N * N);

    // Resume from the library: only the missing cells run, in a new array, and the sweep completes.
    await page.locator("[data-testid=tab-library]").click();
    await page.locator(`[data-testid=library-row][data-id=${id}] [data-testid=sweep-resume]`).click();
    await expect.poll(() => store.sweep(id)!.status, { timeout: 300_000, interval: 500 }).toBe("completed");
    expect(store.sweep(id)!.done_cells).toBe(N * N);
    const j = agentJournal(join(sshd.remoteHome, ".fractal-agent"), id);
    expect(Object.keys(j.counts)).toHaveLength(N * N);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
    const rounds = JSON.parse(readFileSync(stateFile, "utf8")).rounds as { job: string }[];
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(sshd.remoteHome, ".fractal-agent", "sweeps"))).toEqual([id]);
  }, 480_000);
});
