// Target parsing and ~/.ssh/config resolution (temp HOME; `Match exec` must never run).

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress, resolveTarget } from "../../src-main/ssh/config.js";

let home: string;
let marker: string;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "fractal-config-"));
  marker = join(home, "match-exec-ran");
  mkdirSync(join(home, ".ssh"));
  writeFileSync(join(home, ".ssh", "id_ed25519"), "not used\n");
  writeFileSync(join(home, ".ssh", "config"), [
    "Host gpu gpu-alias",
    "  HostName 10.0.0.5",
    "  Port 2222",
    "  User alice",
    "  IdentityFile ~/.ssh/gpu_key",
    "  IdentityFile %d/.ssh/second_%r",
    "  ProxyJump bastion,user2@hop2:2200",
    "  ServerAliveInterval 30",
    "  HostKeyAlias gpu-node",
    "Host bastion",
    "  HostName bastion.example",
    "  ProxyJump none",
    `Match exec "touch ${marker}"`,
    "  User mallory",
    "Host *",
    "  User everyone",
    "",
  ].join("\n"));
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("parseAddress", () => {
  it("reads ssh:// URLs, user@host:port and bare names", () => {
    expect(parseAddress("ssh://bob@example.org:2200")).toEqual({ user: "bob", host: "example.org", port: 2200 });
    expect(parseAddress("ssh://example.org")).toEqual({ user: undefined, host: "example.org", port: undefined });
    expect(parseAddress("bob@10.1.2.3:22")).toEqual({ user: "bob", host: "10.1.2.3", port: 22 });
    expect(parseAddress("gpu")).toEqual({ user: undefined, host: "gpu", port: undefined });
    expect(parseAddress("ssh://root@[::1]:2222")).toEqual({ user: "root", host: "::1", port: 2222 });
  });

  it("rejects what is not a target, saying which forms work", () => {
    expect(() => parseAddress("ssh://")).toThrow(/ssh:\/\/user@host:port/);
    expect(() => parseAddress("two words")).toThrow(/Host alias/);
    expect(() => parseAddress("host:99999")).toThrow(/port 99999 is outside 1-65535/);
  });
});

describe("resolveTarget", () => {
  it("resolves an alias: HostName, Port, User, IdentityFile (with ~ and %d/%r), ProxyJump, keepalive", () => {
    const debug: string[] = [];
    const h = resolveTarget("gpu-alias", { home, debug: (m) => debug.push(m) });
    expect(h).toMatchObject({
      host: "10.0.0.5", port: 2222, user: "alice",
      identityFiles: [join(home, ".ssh", "gpu_key"), join(home, ".ssh", "second_alice")],
      identitiesExplicit: true,
      proxyJump: ["bastion", "user2@hop2:2200"],
      keepaliveMs: 30_000,
      hostKeyHost: "gpu-node",
      knownHostsFiles: [join(home, ".ssh", "known_hosts"), join(home, ".ssh", "known_hosts2"), "/etc/ssh/ssh_known_hosts"],
    });
    // Match exec is not run, and we say so
    expect(existsSync(marker)).toBe(false);
    expect(debug.some((m) => m.includes("Match exec") && m.includes("not executed"))).toBe(true);
  });

  it("treats a Match exec block as not matching (its User is not applied)", () => {
    const h = resolveTarget("elsewhere.example", { home });
    expect(h.user).toBe("everyone");
    expect(existsSync(marker)).toBe(false);
  });

  it("lets the URL's user and port beat the config, and applies the config to the URL's host", () => {
    const h = resolveTarget("ssh://carol@gpu:2200", { home });
    expect(h).toMatchObject({ host: "10.0.0.5", port: 2200, user: "carol", proxyJump: ["bastion", "user2@hop2:2200"] });
  });

  it("puts an explicit identity first, and falls back to OpenSSH's default keys when none is named", () => {
    expect(resolveTarget("gpu", { home, identity: ["/keys/mine"] }).identityFiles[0]).toBe("/keys/mine");
    const plain = resolveTarget("bastion", { home });
    expect(plain).toMatchObject({ host: "bastion.example", port: 22, proxyJump: [], identitiesExplicit: false });
    expect(plain.identityFiles).toEqual([join(home, ".ssh", "id_ed25519")]); // the only default key that exists
  });

  it("works without any ~/.ssh/config", () => {
    const empty = mkdtempSync(join(tmpdir(), "fractal-noconfig-"));
    try {
      expect(resolveTarget("ssh://u@h.example:2022", { home: empty })).toMatchObject({ host: "h.example", port: 2022, user: "u", proxyJump: [] });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
