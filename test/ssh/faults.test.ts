// Fault injection on a cold node (nothing installed), against a real sshd: the SSH connection is cut (every
// serving sshd process SIGKILLed, fx.killServingProcesses()) while the app uploads the agent and while it probes
// the interpreter. openSshTransport retries with backoff, says what happened, and never reports a probe cut short
// as a missing Python. The end-to-end version (a CLI sweep on a cold node whose shell start-up files print a
// banner, cut during the install) ends with every cell recorded once.
import Database from "better-sqlite3";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isRetryable, openSshTransport, SshError, type SshTransportOptions } from "../../src-main/ssh/index.js";
import { openTarget } from "../../src-main/launch/targets";
import { openStore } from "../../src-main/core/store";
import { tempDir } from "../core/helpers";
import { agentJournal, cli, lastLine, PYTHON } from "../cli/helpers";
import { freePort, startSshd, startSshFixture, type Sshd, type SshFixture } from "./harness.js";

let fx: SshFixture | undefined;
afterEach(async () => { await fx?.stop(); fx = undefined; });

/** Call `action` (once) as soon as `ready()` holds; polls every 2 ms. */
function when(ready: () => boolean, action: () => void): { fired: () => boolean; stop: () => void } {
  let fired = false;
  const timer = setInterval(() => {
    let ok = false;
    try { ok = ready(); } catch { ok = false; }
    if (ok && !fired) { fired = true; action(); clearInterval(timer); }
  }, 2);
  return { fired: () => fired, stop: () => clearInterval(timer) };
}

/** The agent upload is under way: a temporary install directory holds at least one uploaded file. */
function uploading(remoteHome: string): boolean {
  const base = join(remoteHome, ".fractal-llm", "agent");
  if (!existsSync(base)) return false;
  return readdirSync(base).some((d) => d.startsWith(".tmp-") && existsSync(join(base, d, "fractal_agent"))
    && readdirSync(join(base, d, "fractal_agent")).length > 0);
}

/** A Python wrapper on the node that marks when the probe runs it and, the first time, lingers (so the cut lands
 *  inside the probe), then runs the real interpreter. */
function slowPython(remoteHome: string): { path: string; marker: string } {
  const path = join(remoteHome, "slow-python");
  const marker = join(remoteHome, "probe-started");
  writeFileSync(path, `#!/bin/sh\nif [ ! -e '${marker}' ]; then : > '${marker}'; sleep 3; fi\nexec ${PYTHON} "$@"\n`, { mode: 0o755 });
  return { path, marker };
}

function options(f: SshFixture, extra: Partial<SshTransportOptions> = {}): SshTransportOptions {
  return { home: f.home, agentSocket: null, trustFile: f.trustFile, python: PYTHON, ...extra };
}

describe("a dropped connection before streaming", () => {
  it("during the agent upload on a cold node: openSshTransport retries, says so, and opens", async () => {
    fx = await startSshFixture();
    const f = fx;
    const retries: string[] = [];
    const cut = when(() => uploading(f.remoteHome), () => f.killServingProcesses());
    const t = await openSshTransport(f.alias, options(f, { retry: { delayMs: 200, onRetry: (r) => retries.push(r.message) } }));
    cut.stop();
    try {
      expect(cut.fired()).toBe(true);
      expect(retries.length).toBeGreaterThan(0);
      expect(retries[0]).toMatch(/dropped while installing the agent.*retrying in 0\.2 s \(attempt 2 of 5\)/s);
      expect(t.python).toBe(PYTHON);
      expect(t.install.dir).toMatch(/\.fractal-llm\/agent\//);
      expect(existsSync(join(t.install.dir, "manifest.json"))).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("the same cut without retries fails as a retryable drop that names the upload", async () => {
    fx = await startSshFixture();
    const f = fx;
    const cut = when(() => uploading(f.remoteHome), () => f.killServingProcesses());
    const err = await openSshTransport(f.alias, options(f, { retry: { attempts: 1 } })).then(() => null, (e: unknown) => e);
    cut.stop();
    expect(cut.fired()).toBe(true);
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).kind).toBe("dropped");
    expect(isRetryable(err)).toBe(true);
    expect((err as Error).message).toMatch(/dropped while installing the agent/);
  });

  it("during the interpreter probe: never reported as a missing Python; the retry finds it", async () => {
    fx = await startSshFixture();
    const f = fx;
    const slow = slowPython(f.remoteHome);
    // Without retries the cut is a drop, not "No Python with torch ... not found".
    const cut1 = when(() => existsSync(slow.marker), () => f.killServingProcesses());
    const err = await openSshTransport(f.alias, options(f, { python: slow.path, retry: { attempts: 1 } })).then(() => null, (e: unknown) => e);
    cut1.stop();
    expect(cut1.fired()).toBe(true);
    expect((err as SshError).kind).toBe("dropped");
    expect((err as Error).message).not.toMatch(/No Python/);
    expect((err as Error).message).toMatch(/probing/);

    // With retries (the default), the next attempt probes again and opens.
    const { rmSync } = await import("node:fs");
    rmSync(slow.marker);
    const retries: string[] = [];
    const cut2 = when(() => existsSync(slow.marker), () => f.killServingProcesses());
    const t = await openSshTransport(f.alias, options(f, { python: slow.path, retry: { delayMs: 200, onRetry: (r) => retries.push(r.message) } }));
    cut2.stop();
    try {
      expect(cut2.fired()).toBe(true);
      expect(retries[0]).toMatch(/dropped while probing the node's Python interpreters/);
      expect(t.python).toBe(slow.path);
      expect(t.env.torch).toBeTruthy();
    } finally {
      await t.close();
    }
  });

  it("during a sweep's data upload: openTarget's upload reconnects, says so, and the file lands whole", async () => {
    fx = await startSshFixture();
    const f = fx;
    const dir = tempDir("fractal-ssh-upload-");
    const local = join(dir, "chat.jsonl");
    writeFileSync(local, randomBytes(24 << 20).toString("base64")); // big enough to cut in the middle
    const data = readFileSync(local);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const file = { kind: "data" as const, local, remote: `~/.fractal-llm/data/${sha256}.jsonl`, sha256, size: data.length };
    const store = openStore(join(dir, "db.sqlite"));
    const retries: string[] = [];
    const t = await openTarget(store, f.alias, { home: f.home, agentSocket: null, trustFile: f.trustFile, python: PYTHON, onRetry: (m) => retries.push(m) });
    const dataDir = join(f.remoteHome, ".fractal-llm", "data");
    const cut = when(() => existsSync(dataDir) && readdirSync(dataDir).some((n) => n.startsWith(".tmp-") && statSync(join(dataDir, n)).size > 0),
      () => f.killServingProcesses());
    try {
      await t.upload([file]);
      cut.stop();
      expect(cut.fired()).toBe(true);
      expect(retries[0]).toMatch(/dropped while uploading the sweep's data.*reconnecting in 1\.0 s \(attempt 2 of 5\)/s);
      const landed = readFileSync(join(dataDir, `${sha256}.jsonl`));
      expect(createHash("sha256").update(landed).digest("hex")).toBe(sha256);
    } finally {
      cut.stop();
      await t.close();
      store.close();
    }
  });

  it("at connect: a node that is not listening yet is retried until it is", async () => {
    fx = await startSshFixture();
    const f = fx;
    const port = await freePort();
    appendFileSync(join(f.home, ".ssh", "config"), `Host later\n  HostName 127.0.0.1\n  Port ${port}\n  User ${f.user}\n  IdentityFile ~/.ssh/id_ed25519\n`);
    appendFileSync(join(f.home, ".ssh", "known_hosts"), `[127.0.0.1]:${port} ${f.sshd.hostKey.publicLine}\n`);
    let later: Promise<Sshd> | undefined;
    const retries: string[] = [];
    const t = await openSshTransport("later", options(f, { retry: { delayMs: 300, onRetry: (r) => {
      retries.push(r.message);
      later ??= startSshd({ authorizedKeys: [f.key.publicLine], hostKey: f.sshd.hostKey, port }); // the node comes up
    } } }));
    try {
      expect(retries[0]).toMatch(new RegExp(`Connection refused by 127\\.0\\.0\\.1:${port}.*retrying in 0\\.3 s`));
      expect(t.env.torch).toBeTruthy();
    } finally {
      await t.close();
      await (await later!).stop();
    }
  });

  it("host key and login problems are not retried", async () => {
    fx = await startSshFixture();
    const f = fx;
    const retries: string[] = [];
    writeFileSync(join(f.home, ".ssh", "known_hosts"), ""); // the host key is now unknown
    const started = Date.now();
    const err = await openSshTransport(f.alias, options(f, { retry: { delayMs: 2000, onRetry: (r) => retries.push(r.message) } })).then(() => null, (e: unknown) => e);
    expect((err as SshError).kind).toBe("host-key");
    expect(retries).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("fractal-llm sweep on a cold node whose shell start-up files print a banner", () => {
  it("survives the connection cut during the agent install; the banner becomes a notice; every cell once", async () => {
    fx = await startSshFixture({ alias: "cold-node", banner: "Welcome to the GPU cluster! Quota: 12 TB" });
    const f = fx;
    const dir = tempDir("fractal-ssh-faults-");
    const spec = {
      version: 1, name: "cold node", model: { family: "mlp", width: 4 }, train: { steps: 100 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points: 8 }, y: { param: "lr.output", scale: "log", range: [-1, 2], points: 8 } },
      criterion: { window: 10 },
    };
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    const db = join(dir, "db.sqlite");
    const env = { HOME: f.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: join(dir, "data"), FRACTAL_LLM_DB: db };
    const cut = when(() => uploading(f.remoteHome), () => f.killServingProcesses());
    const r = await cli(["sweep", "--spec", join(dir, "spec.json"), "--target", "cold-node", "--python", PYTHON], env).done;
    cut.stop();
    expect(cut.fired()).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/dropped while installing the agent.*retrying/);
    expect(r.stderr).toContain("Welcome to the GPU cluster! Quota: 12 TB");
    const id = lastLine(r.stdout);
    const d = new Database(db, { readonly: true });
    expect(d.prepare("SELECT status, done_cells FROM sweeps WHERE id = ?").get(id)).toEqual({ status: "completed", done_cells: 64 });
    d.close();
    const j = agentJournal(join(f.remoteHome, ".fractal-agent"), id);
    expect(Object.keys(j.counts)).toHaveLength(64);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
  });
});
