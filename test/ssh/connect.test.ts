// Connecting to a real OpenSSH sshd on 127.0.0.1: target forms, host keys, jump hosts, auth, errors.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSsh, HostKeyError, isRetryable, SshError, type ConnectOptions } from "../../src-main/ssh/index.js";
import { channelProcess } from "../../src-main/ssh/index.js";
import { freePort, keygen, startSshd, startSshFixture, type KeyPair, type Sshd, type SshFixture } from "./harness.js";

/** OpenSSH's own fingerprint of a public key file, to check ours against. */
function opensshFingerprint(pubFile: string): string {
  return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile], { encoding: "utf8" }).split(" ")[1]!;
}

async function rejection(p: Promise<unknown>): Promise<SshError> {
  const err = await p.then(() => { throw new Error("expected the connection to fail"); }, (e: unknown) => e);
  expect(err).toBeInstanceOf(SshError);
  return err as SshError;
}

let fx: SshFixture;
let jump: Sshd;        // a second sshd, used as the jump host
let scratch: string;   // per-file temp dir (trust lists, extra keys)
let n = 0;
const knownHosts = () => join(fx.home, ".ssh", "known_hosts");
const freshTrust = () => join(scratch, `trust-${++n}.json`);
const base = (over: Partial<ConnectOptions> = {}): ConnectOptions =>
  ({ home: fx.home, agentSocket: null, trustFile: freshTrust(), timeoutMs: 10_000, ...over });

beforeAll(async () => {
  fx = await startSshFixture({ alias: "gpu" });
  jump = await startSshd({ authorizedKeys: [fx.key.publicLine] });
  scratch = mkdtempSync(join(tmpdir(), "fractal-ssh-test-"));
  appendFileSync(join(fx.home, ".ssh", "config"), [
    "Host jumpbox", "  HostName 127.0.0.1", `  Port ${jump.port}`, `  User ${fx.user}`, "  IdentityFile ~/.ssh/id_ed25519",
    "Host behind", "  HostName 127.0.0.1", `  Port ${fx.port}`, `  User ${fx.user}`, "  ProxyJump jumpbox",
    "Host behind2", "  HostName 127.0.0.1", `  Port ${fx.port}`, `  User ${fx.user}`, "  ProxyJump jumpbox,gpu",
    "",
  ].join("\n"));
});

afterAll(async () => {
  await fx?.stop();
  await jump?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function resetKnownHosts(extra = ""): void {
  writeFileSync(knownHosts(), `[127.0.0.1]:${fx.port} ${fx.sshd.hostKey.publicLine}\n[127.0.0.1]:${jump.port} ${jump.hostKey.publicLine}\n${extra}`);
}

describe("targets", () => {
  it("connects by ~/.ssh/config alias and runs a command", async () => {
    resetKnownHosts();
    const c = await connectSsh("gpu", base());
    expect(c.label).toBe(`${fx.user}@127.0.0.1:${fx.port}`);
    const r = await c.run("echo hello; echo oops >&2; exit 3");
    expect(r).toMatchObject({ code: 3, stdout: "hello\n", stderr: "oops\n" });
    await c.close();
    expect(await c.closed).toBeNull(); // our own close is not a drop
  });

  it("connects by ssh://user@host:port with an explicit identity", async () => {
    resetKnownHosts();
    const c = await connectSsh(`ssh://${fx.user}@127.0.0.1:${fx.port}`, base({ identity: fx.key.path }));
    expect((await c.run("printf %s \"$HOME\"")).stdout).toBe(fx.remoteHome);
    await c.close();
  });
});

describe("host keys", () => {
  it("refuses an unknown host key, showing OpenSSH's SHA256 fingerprint and how to accept it", async () => {
    writeFileSync(knownHosts(), "");
    const trustFile = freshTrust();
    const err = await rejection(connectSsh("gpu", base({ trustFile })));
    expect(err).toBeInstanceOf(HostKeyError);
    const fp = opensshFingerprint(`${fx.sshd.hostKey.path}.pub`);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect((err as HostKeyError).problem).toBe("unknown");
    expect((err as HostKeyError).fingerprint).toBe(fp);
    expect(err.message).toContain(fp);
    expect(err.message).toContain("--accept-new-host-key");
    expect(err.retryable).toBe(false);
    expect(existsSync(trustFile)).toBe(false);

    // accepted when asked, recorded in the app trust list, then remembered without asking again
    const c = await connectSsh("gpu", base({ trustFile, acceptNewHostKey: true }));
    await c.close();
    const trust = JSON.parse(readFileSync(trustFile, "utf8"));
    expect(trust.hosts[`[127.0.0.1]:${fx.port}`][0].fingerprint).toBe(fp);
    const again = await connectSsh("gpu", base({ trustFile }));
    await again.close();
    expect(readFileSync(knownHosts(), "utf8")).toBe(""); // the user's known_hosts is never written
  });

  it("refuses a changed key (known_hosts) even with acceptNewHostKey, naming old and new fingerprints", async () => {
    const other = keygen(join(scratch, `other-${++n}`));
    writeFileSync(knownHosts(), `[127.0.0.1]:${fx.port} ${other.publicLine}\n`);
    const trustFile = freshTrust();
    const err = await rejection(connectSsh("gpu", base({ trustFile, acceptNewHostKey: true })));
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).problem).toBe("changed");
    expect(err.message).toContain("HOST KEY CHANGED");
    expect(err.message).toContain(opensshFingerprint(`${other.path}.pub`));
    expect(err.message).toContain(opensshFingerprint(`${fx.sshd.hostKey.path}.pub`));
    expect(existsSync(trustFile)).toBe(false);
  });

  it("refuses a server restarted with a different host key after its first key was accepted", async () => {
    const home = fx.home;
    writeFileSync(knownHosts(), "");
    const trustFile = freshTrust();
    const first = await startSshd({ authorizedKeys: [fx.key.publicLine] });
    const url = `ssh://${fx.user}@127.0.0.1:${first.port}`;
    const firstFp = opensshFingerprint(`${first.hostKey.path}.pub`);
    try {
      await (await connectSsh(url, { home, identity: fx.key.path, agentSocket: null, trustFile, acceptNewHostKey: true })).close();
    } finally {
      await first.stop();
    }
    const second = await startSshd({ authorizedKeys: [fx.key.publicLine], port: first.port });
    try {
      const err = await rejection(connectSsh(url, { home, identity: fx.key.path, agentSocket: null, trustFile, acceptNewHostKey: true }));
      expect((err as HostKeyError).problem).toBe("changed");
      expect((err as HostKeyError).knownFingerprints).toEqual([firstFp]);
      expect((err as HostKeyError).fingerprint).toBe(opensshFingerprint(`${second.hostKey.path}.pub`));
    } finally {
      await second.stop();
    }
  });

  it("accepts a hashed (|1|) known_hosts entry written by ssh-keygen -H", async () => {
    writeFileSync(knownHosts(), `[127.0.0.1]:${fx.port} ${fx.sshd.hostKey.publicLine}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", knownHosts()], { stdio: "ignore" });
    const text = readFileSync(knownHosts(), "utf8");
    expect(text.startsWith("|1|")).toBe(true);
    expect(text).not.toContain("127.0.0.1");
    const c = await connectSsh("gpu", base());
    await c.close();
  });

  it("refuses a key marked @revoked, even when also listed as known", async () => {
    resetKnownHosts(`@revoked * ${fx.sshd.hostKey.publicLine}\n`);
    const err = await rejection(connectSsh("gpu", base({ acceptNewHostKey: true })));
    expect((err as HostKeyError).problem).toBe("revoked");
    expect(err.message).toContain("@revoked");
  });
});

describe("jump hosts", () => {
  it("connects through ProxyJump, and the connection depends on the jump host", async () => {
    resetKnownHosts();
    const c = await connectSsh("behind", base());
    expect(c.label).toBe(`${fx.user}@127.0.0.1:${fx.port}`);
    expect((await c.run("echo through")).stdout).toBe("through\n");
    // Traffic really flows through the jump host: killing its serving sshd drops the target connection.
    expect(jump.killServingProcesses()).toBeGreaterThan(0);
    const dropped = await c.closed;
    expect(dropped?.kind).toBe("dropped");
    expect(isRetryable(dropped)).toBe(true);
  });

  it("goes through a chain of two jump hosts (ProxyJump a,b)", async () => {
    resetKnownHosts();
    const c = await connectSsh("behind2", base());
    expect((await c.run("echo chained")).stdout).toBe("chained\n");
    await c.close();
  });

  it("verifies the jump host's key too", async () => {
    writeFileSync(knownHosts(), `[127.0.0.1]:${fx.port} ${fx.sshd.hostKey.publicLine}\n`);
    const err = await rejection(connectSsh("behind", base()));
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).port).toBe(jump.port);
    expect(err.message).toContain(opensshFingerprint(`${jump.hostKey.path}.pub`));
  });
});

describe("authentication", () => {
  let encrypted: KeyPair;
  let stranger: KeyPair;
  beforeAll(() => {
    encrypted = keygen(join(scratch, "id_enc"), { passphrase: "correct horse" });
    stranger = keygen(join(scratch, "id_stranger"));
    appendFileSync(join(fx.sshd.dir, "authorized_keys"), encrypted.publicLine + "\n");
  });
  const url = () => `ssh://${fx.user}@127.0.0.1:${fx.port}`;

  it("decrypts an encrypted key with the passphrase callback, asking once for that key", async () => {
    resetKnownHosts();
    const asked: string[] = [];
    const c = await connectSsh(url(), base({ identity: encrypted.path, passphrase: async (p) => { asked.push(p); return "correct horse"; } }));
    expect(asked).toEqual([encrypted.path]);
    expect((await c.run("echo in")).stdout).toBe("in\n");
    await c.close();
  });

  it("does not count the time a person takes to type the passphrase against the handshake timeout", async () => {
    resetKnownHosts();
    const slow = async () => { await new Promise((r) => setTimeout(r, 700)); return "correct horse"; };
    const c = await connectSsh(url(), base({ identity: encrypted.path, passphrase: slow, timeoutMs: 300 }));
    await c.close();
  });

  it("says clearly when the passphrase is wrong", async () => {
    resetKnownHosts();
    const err = await rejection(connectSsh(url(), base({ identity: encrypted.path, passphrase: async () => "wrong" })));
    expect(err.kind).toBe("auth");
    expect(err.message).toContain(`Wrong passphrase for ${encrypted.path}`);
    expect(err.message).toContain(`${fx.user}@127.0.0.1:${fx.port}`);
    expect(err.retryable).toBe(false);
  });

  it("names user@host and every method tried when the server accepts none", async () => {
    resetKnownHosts();
    const err = await rejection(connectSsh(url(), base({ identity: [stranger.path, encrypted.path] })));
    expect(err.kind).toBe("auth");
    expect(err.message).toContain(`Authentication failed for ${fx.user}@127.0.0.1:${fx.port}`);
    expect(err.message).toContain(stranger.path);
    expect(err.message).toContain(`${encrypted.path} (encrypted, and no passphrase prompt available)`);
    expect(isRetryable(err)).toBe(false);
  });

  it("uses ssh-agent when a socket is given", async () => {
    resetKnownHosts();
    const sock = join(scratch, "agent.sock");
    const agent: ChildProcess = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync("ssh-add", ["-q", fx.key.path], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
      const logs: string[] = [];
      // stranger first in line: only the agent's key can get us in, and the agent is tried first
      const c = await connectSsh(url(), base({ agentSocket: sock, identity: stranger.path, debug: (m) => logs.push(m) }));
      expect(logs.some((m) => m.includes(`authenticated with ssh-agent at ${sock}`))).toBe(true);
      await c.close();
    } finally {
      agent.kill();
    }
  });
});

describe("network errors", () => {
  it("reports a refused connection naming host:port, as retryable", async () => {
    const port = await freePort();
    const err = await rejection(connectSsh(`ssh://root@127.0.0.1:${port}`, base()));
    expect(err.kind).toBe("unreachable");
    expect(err.message).toContain(`Connection refused by 127.0.0.1:${port}`);
    expect(err.retryable).toBe(true);
  });

  it("times out on a server that never speaks SSH", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => { sockets.push(s); }); // accept, say nothing
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await rejection(connectSsh(`ssh://root@127.0.0.1:${port}`, base({ timeoutMs: 300 })));
      expect(err.kind).toBe("timeout");
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.retryable).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("reports a killed serving sshd as a retryable drop, and running commands end", async () => {
    resetKnownHosts();
    const c = await connectSsh("gpu", base({ keepaliveMs: 1000 }));
    const p = await channelProcess(c, "sleep 20");
    expect(fx.killServingProcesses()).toBeGreaterThan(0);
    const err = await c.closed;
    expect(err).toBeInstanceOf(SshError);
    expect(err!.kind).toBe("dropped");
    expect(err!.message).toContain(`${fx.user}@127.0.0.1:${fx.port}`);
    expect(isRetryable(err)).toBe(true);
    expect(await p.exited).toEqual({ code: null, signal: null });
    await expect(c.exec("true")).rejects.toMatchObject({ kind: "dropped" });
    // and the server is still there: reconnecting works
    const again = await connectSsh("gpu", base());
    await again.close();
  });
});
