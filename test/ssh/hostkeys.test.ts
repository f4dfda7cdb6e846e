// Host key bookkeeping against OpenSSH's own tools: fingerprints (ssh-keygen -l), hashed names (ssh-keygen -H).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyError } from "../../src-main/ssh/errors.js";
import { defaultTrustFile, fingerprint, hostFieldMatches, hostKeyName, keyTypeOf, knownHostsKeys, verifyHostKey, type HostKeyPolicy } from "../../src-main/ssh/hostkeys.js";
import { keygen, type KeyPair } from "./harness.js";

let dir: string;
let ed: KeyPair, rsa: KeyPair, ecdsa: KeyPair;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-hostkeys-"));
  ed = keygen(join(dir, "ed"));
  rsa = keygen(join(dir, "rsa"), { type: "rsa" });
  ecdsa = keygen(join(dir, "ecdsa"), { type: "ecdsa" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function policy(knownHosts: string, acceptNewHostKey = false): HostKeyPolicy {
  const file = join(dir, `known-${++n}`);
  writeFileSync(file, knownHosts);
  return { knownHostsFiles: [file], trustFile: join(dir, `trust-${n}.json`), acceptNewHostKey };
}

describe("fingerprints and names", () => {
  it("matches ssh-keygen -l for ed25519, rsa and ecdsa keys", () => {
    for (const k of [ed, rsa, ecdsa]) {
      const expected = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${k.path}.pub`], { encoding: "utf8" }).split(" ")[1];
      expect(fingerprint(k.blob)).toBe(expected);
      expect(keyTypeOf(k.blob)).toBe(k.publicLine.split(" ")[0]);
    }
  });

  it("files non-standard ports as [host]:port", () => {
    expect(hostKeyName("gpu.example", 22)).toBe("gpu.example");
    expect(hostKeyName("10.0.0.5", 2222)).toBe("[10.0.0.5]:2222");
  });

  it("matches host patterns: lists, wildcards, negation", () => {
    expect(hostFieldMatches("a.example,b.example", "b.example")).toBe(true);
    expect(hostFieldMatches("*.example", "gpu.example")).toBe(true);
    expect(hostFieldMatches("*.example,!bad.example", "bad.example")).toBe(false);
    expect(hostFieldMatches("[10.0.0.5]:2222", "[10.0.0.5]:2222")).toBe(true);
    expect(hostFieldMatches("10.0.0.5", "[10.0.0.5]:2222")).toBe(false);
    expect(hostFieldMatches("gpu?", "gpu1")).toBe(true);
  });

  it("matches names hashed by ssh-keygen -H, and only those", () => {
    const file = join(dir, "hashed");
    writeFileSync(file, `[10.0.0.5]:2222 ${ed.publicLine}\ngpu.example ${rsa.publicLine}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("gpu.example");
    expect(knownHostsKeys(file, "[10.0.0.5]:2222").map((k) => fingerprint(k.key))).toEqual([fingerprint(ed.blob)]);
    expect(knownHostsKeys(file, "gpu.example").map((k) => k.keyType)).toEqual(["ssh-rsa"]);
    expect(knownHostsKeys(file, "other.example")).toEqual([]);
  });
});

describe("verifyHostKey", () => {
  it("accepts a key recorded in known_hosts", () => {
    expect(verifyHostKey("gpu.example", 22, ed.blob, policy(`gpu.example ${ed.publicLine}\n`))).toBe("known_hosts");
  });

  it("refuses an unknown key with its fingerprint; records it only when asked, then trusts it", () => {
    const p = policy("");
    expect(() => verifyHostKey("gpu.example", 2222, ed.blob, p)).toThrow(fingerprint(ed.blob));
    const accepting = { ...p, acceptNewHostKey: true };
    expect(verifyHostKey("gpu.example", 2222, ed.blob, accepting)).toBe("accepted-new");
    expect(verifyHostKey("gpu.example", 2222, ed.blob, p)).toBe("trust-list");
    // another port of the same host is another server
    expect(() => verifyHostKey("gpu.example", 2223, ed.blob, p)).toThrow(/Unknown host key/);
  });

  it("refuses a changed key from either source, even when accepting new keys", () => {
    const p = policy(`gpu.example ${ed.publicLine}\n`, true);
    let err: unknown;
    try { verifyHostKey("gpu.example", 22, ecdsa.blob, p); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe("changed");
    expect((err as HostKeyError).knownFingerprints).toEqual([fingerprint(ed.blob)]);
    expect((err as HostKeyError).message).toContain(fingerprint(ecdsa.blob));

    const q = policy("", true);
    verifyHostKey("new.example", 22, rsa.blob, q); // recorded in the trust list
    expect(() => verifyHostKey("new.example", 22, ed.blob, q)).toThrow(/HOST KEY CHANGED/);
  });

  it("refuses a @revoked key", () => {
    const p = policy(`@revoked * ${ed.publicLine}\ngpu.example ${ed.publicLine}\n`, true);
    expect(() => verifyHostKey("gpu.example", 22, ed.blob, p)).toThrow(/@revoked/);
  });

  it("keeps the trust list in the app-data dir, under a temporary HOME when one is given", () => {
    expect(defaultTrustFile("/home/u")).toBe("/home/u/.local/share/fractal-llm/trusted_hosts.json");
    expect(defaultTrustFile()).toMatch(/fractal-llm[/\\]trusted_hosts\.json$/);
  });

  it("names the trust list file when it is not ours", () => {
    const p = policy("");
    writeFileSync(p.trustFile, "[]");
    expect(() => verifyHostKey("gpu.example", 22, ed.blob, p)).toThrow(p.trustFile);
  });
});
