// The host manager API against a real OpenSSH sshd (test/ssh/harness.ts) with a temp HOME: hosts from
// ~/.ssh/config and the store, and "test connection" with the unknown / accepted / changed host-key paths.

import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testHost } from "../../src-main/api/hosts";
import { ApiService } from "../../src-main/api/service";
import { openStore, type Store } from "../../src-main/core/store";
import { keygen, startSshFixture, type SshFixture } from "../ssh/harness";

function opensshFingerprint(pubFile: string): string {
  return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile], { encoding: "utf8" }).split(" ")[1]!;
}

let fx: SshFixture, dir: string, store: Store;
let n = 0;
const knownHosts = () => join(fx.home, ".ssh", "known_hosts");
const service = (trustFile: string) => new ApiService(store, { home: fx.home, trustFile, agentSocket: null, pollMs: 60_000 });
// The host manager's testHost (what ApiService.testHost calls with the request's options).
const test = (trustFile: string, alias: string, acceptHostKeys: string[]) =>
  testHost(store, alias, { acceptHostKeys }, { home: fx.home, trustFile, agentSocket: null });

beforeAll(async () => {
  fx = await startSshFixture({ alias: "gpu-box" });
  appendFileSync(join(fx.home, ".ssh", "config"), "\nHost *.internal !bastion\n  User nobody\n");
  dir = mkdtempSync(join(tmpdir(), "fractal-hosts-"));
  store = openStore(join(dir, "db.sqlite"));
}, 60_000);

afterAll(async () => {
  store?.close();
  await fx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("host manager", () => {
  it("lists ssh config aliases (not wildcard patterns) and saved hosts", async () => {
    const svc = service(join(dir, `trust-${++n}.json`));
    await svc.addHost({ alias: "saved-box", hostname: "10.0.0.7", port: 2222, user: "me", python: null });
    const hosts = await svc.listHosts();
    expect(hosts.map((h) => [h.alias, h.source])).toEqual([["gpu-box", "ssh-config"], ["saved-box", "store"]]);
    expect(hosts[1]).toMatchObject({ hostname: "10.0.0.7", port: 2222, user: "me", python: null });
    await expect(svc.addHost({ alias: "local", hostname: "x", port: 22, user: null, python: null })).rejects.toThrow(/alias/);
    await expect(svc.addHost({ alias: "ok", hostname: "x", port: 70000, user: null, python: null })).rejects.toThrow(/port must be 1-65535/);
    await expect(svc.testHost("nowhere", { acceptHostKeys: [] })).rejects.toThrow(/unknown host "nowhere"/);
    svc.close();
  });

  it("an unknown host key comes back with its SHA256 fingerprint; accepting it saves it and reports the interpreters", async () => {
    writeFileSync(knownHosts(), "");
    const trustFile = join(dir, `trust-${++n}.json`);
    const svc = service(trustFile);
    const fp = opensshFingerprint(`${fx.sshd.hostKey.path}.pub`);

    const refused = await test(trustFile, "gpu-box", []);
    expect(refused.status).toBe("host-key");
    if (refused.status !== "host-key") throw new Error("unreachable");
    expect(refused.hostKey).toMatchObject({ problem: "unknown", fingerprint: fp, port: fx.port });
    expect(existsSync(trustFile)).toBe(false);

    // Accepting another fingerprint than the one presented trusts nothing.
    const other = keygen(join(dir, `shown-${++n}`));
    const mismatch = await test(trustFile, "gpu-box", [opensshFingerprint(`${other.path}.pub`)]);
    if (mismatch.status !== "host-key") throw new Error(`expected a refusal, got ${JSON.stringify(mismatch)}`);
    expect(mismatch.message).toMatch(/not the one you accepted/);
    expect(existsSync(trustFile)).toBe(false);

    const ok = await test(trustFile, "gpu-box", [refused.hostKey.fingerprint]);
    if (ok.status !== "ok") throw new Error(`expected ok, got ${JSON.stringify(ok)}`);
    expect(readFileSync(trustFile, "utf8")).toContain(fp);
    const chosen = ok.interpreters.find((i) => i.path === ok.python)!;
    expect(chosen).toMatchObject({ ok: true, problem: null, cudaAvailable: false, gpus: [] });
    expect(chosen.torch).toMatch(/^\d+\.\d+/);
    expect(chosen.python).toMatch(/^3\.\d+/);

    // Now trusted: a plain test connects without asking.
    expect((await test(trustFile, "gpu-box", [])).status).toBe("ok");
    svc.close();
  }, 120_000);

  it("a changed host key is refused with the old and new fingerprints, even when its new fingerprint is accepted", async () => {
    const other = keygen(join(dir, `other-${++n}`));
    writeFileSync(knownHosts(), `[127.0.0.1]:${fx.port} ${other.publicLine}\n`);
    const trustFile = join(dir, `trust-${++n}.json`);
    const svc = service(trustFile);
    const r = await test(trustFile, "gpu-box", [opensshFingerprint(`${fx.sshd.hostKey.path}.pub`)]);
    if (r.status !== "host-key") throw new Error(`expected a host-key refusal, got ${JSON.stringify(r)}`);
    expect(r.hostKey.problem).toBe("changed");
    expect(r.hostKey.fingerprint).toBe(opensshFingerprint(`${fx.sshd.hostKey.path}.pub`));
    expect(r.hostKey.knownFingerprints).toContain(opensshFingerprint(`${other.path}.pub`));
    expect(existsSync(trustFile)).toBe(false);
    svc.close();
  }, 60_000);
});
