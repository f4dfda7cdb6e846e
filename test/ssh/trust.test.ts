// "Accept" trusts exactly the key the user was shown, against real sshds: a fingerprint list (one per ProxyJump
// hop), a different key on the accepting connection refused and nothing recorded, and what was trusted reported.
// Also: remote commands run under a non-POSIX login shell (tcsh), and a pid read from the node is checked before kill.

import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  anyShellQuote, channelProcess, connectSsh, HostKeyError, openSshTransport, remotePid, type ConnectOptions,
} from "../../src-main/ssh/index.js";
import { keygen, startSshd, startSshFixture, type Sshd, type SshFixture } from "./harness.js";

function fingerprintOf(pubFile: string): string {
  return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile], { encoding: "utf8" }).split(" ")[1]!;
}

let fx: SshFixture;
let jump: Sshd;
let scratch: string;
let n = 0;
const freshTrust = () => join(scratch, `trust-${++n}.json`);
const opts = (over: Partial<ConnectOptions> = {}): ConnectOptions => ({ home: fx.home, agentSocket: null, timeoutMs: 10_000, ...over });

beforeAll(async () => {
  fx = await startSshFixture({ alias: "gpu" });
  jump = await startSshd({ authorizedKeys: [fx.key.publicLine] });
  scratch = mkdtempSync(join(tmpdir(), "fractal-trust-test-"));
  appendFileSync(join(fx.home, ".ssh", "config"), [
    "Host jumpbox", "  HostName 127.0.0.1", `  Port ${jump.port}`, `  User ${fx.user}`, "  IdentityFile ~/.ssh/id_ed25519",
    "Host behind", "  HostName 127.0.0.1", `  Port ${fx.port}`, `  User ${fx.user}`, "  ProxyJump jumpbox", "",
  ].join("\n"));
  writeFileSync(join(fx.home, ".ssh", "known_hosts"), ""); // every key unknown
});

afterAll(async () => {
  await fx?.stop();
  await jump?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<HostKeyError> {
  const err = await p.then(() => { throw new Error("expected a host-key refusal"); }, (e: unknown) => e);
  expect(err).toBeInstanceOf(HostKeyError);
  return err as HostKeyError;
}

describe("accepting a host key", () => {
  it("trusts the fingerprint shown, and tells what it trusted", async () => {
    const trustFile = freshTrust();
    const shown = (await refusal(connectSsh("gpu", opts({ trustFile })))).fingerprint;
    expect(shown).toBe(fingerprintOf(`${fx.sshd.hostKey.path}.pub`));
    const trusted: string[] = [];
    const c = await connectSsh("gpu", opts({ trustFile, acceptHostKeys: [shown], onHostKeyAccepted: (k) => trusted.push(`${k.host}:${k.port} ${k.keyType} ${k.fingerprint}`) }));
    await c.close();
    expect(trusted).toEqual([`127.0.0.1:${fx.port} ssh-ed25519 ${shown}`]);
    expect(readFileSync(trustFile, "utf8")).toContain(shown);
    // Trusted now: no accept needed, nothing reported.
    await (await connectSsh("gpu", opts({ trustFile, onHostKeyAccepted: () => trusted.push("again") }))).close();
    expect(trusted).toHaveLength(1);
  });

  it("refuses, and records nothing, when the key presented differs from the one accepted", async () => {
    const trustFile = freshTrust();
    const other = keygen(join(scratch, "impostor"));
    const accepted = fingerprintOf(`${other.path}.pub`); // what the user saw (say, from an impostor's first connection)
    const err = await refusal(connectSsh("gpu", opts({ trustFile, acceptHostKeys: [accepted] })));
    expect(err.problem).toBe("unknown");
    expect(err.fingerprint).toBe(fingerprintOf(`${fx.sshd.hostKey.path}.pub`));
    expect(err.message).toContain(`not the one you accepted (${accepted})`);
    expect(existsSync(trustFile)).toBe(false);
  });

  it("each ProxyJump hop needs its own shown fingerprint", async () => {
    const trustFile = freshTrust();
    const jumpFp = fingerprintOf(`${jump.hostKey.path}.pub`);
    const targetFp = fingerprintOf(`${fx.sshd.hostKey.path}.pub`);
    // First the jump host is refused, with its own fingerprint.
    const first = await refusal(connectSsh("behind", opts({ trustFile })));
    expect([first.port, first.fingerprint]).toEqual([jump.port, jumpFp]);
    // Accepting only the jump host's key: the target behind it is refused with its own (nothing else trusted).
    const second = await refusal(connectSsh("behind", opts({ trustFile, acceptHostKeys: [jumpFp] })));
    expect([second.port, second.fingerprint]).toEqual([fx.port, targetFp]);
    // Both shown, both accepted.
    const trusted: number[] = [];
    const c = await connectSsh("behind", opts({ trustFile, acceptHostKeys: [targetFp], onHostKeyAccepted: (k) => trusted.push(k.port) }));
    expect((await c.run("echo through")).stdout).toBe("through\n");
    await c.close();
    expect(trusted).toEqual([fx.port]); // the jump host's key was already recorded by the second attempt
  });

  it("--accept-new-host-key (trust on first use) still never accepts a changed key", async () => {
    const trustFile = freshTrust();
    const other = keygen(join(scratch, `old-${++n}`));
    writeFileSync(trustFile, JSON.stringify({ version: 1, hosts: { [`[127.0.0.1]:${fx.port}`]: [{ type: "ssh-ed25519", key: other.blob.toString("base64"), fingerprint: "x", added: "" }] } }));
    const err = await refusal(connectSsh("gpu", opts({ trustFile, acceptNewHostKey: true, acceptHostKeys: [fingerprintOf(`${fx.sshd.hostKey.path}.pub`)] })));
    expect(err.problem).toBe("changed");
  });
});

describe("remote commands under any login shell", () => {
  it("quotes a word so that sh and tcsh read it back unchanged", () => {
    // (csh expands history even under -c: a `!` right before a word is not supported there, a lone ! is)
    const word = `it's a \\path with $HOME, "quotes", ! and *`;
    for (const sh of ["/bin/sh", ...(existsSync("/bin/tcsh") ? ["/bin/tcsh"] : [])]) {
      expect(execFileSync(sh, ["-c", `printf '%s' ${anyShellQuote(word)}`], { encoding: "utf8" }), sh).toBe(word);
    }
  });

  it.skipIf(!existsSync("/bin/tcsh"))("installs, probes and runs the agent for an account whose login shell is tcsh", async () => {
    const csh = await startSshFixture({ alias: "csh-node", loginShell: "/bin/tcsh" });
    try {
      const o = { home: csh.home, agentSocket: null, trustFile: freshTrust() };
      // The raw login shell really is not POSIX: `>&2` and `$(...)` mean other things to tcsh.
      const raw = await connectSsh(csh.alias, o);
      const direct = await new Promise<string>((res) => raw.client.exec(`echo "$(echo hi)" >&2`, (_e, ch) => {
        let out = "";
        ch.on("data", (d: Buffer) => { out += d; }).stderr.on("data", (d: Buffer) => { out += d; });
        ch.on("close", () => res(out));
      }));
      expect(direct).toMatch(/Illegal variable name|Missing name/);
      await raw.close();

      const t = await openSshTransport(csh.alias, { ...o, python: "/usr/bin/python3" });
      try {
        expect(t.env.torch).toBeTruthy();
        const p = await t.agent(["env"]);
        let out = "";
        p.stdout.on("data", (d: Buffer) => { out += d; });
        expect((await p.exited).code).toBe(0);
        expect(JSON.parse(out.trim().split("\n").pop()!)).toMatchObject({ error: null });
        // kill() reaches the process by the pid it reported (root logins ignore SSH signal requests).
        const sleeper = await channelProcess(t.connection, "exec sleep 60");
        await new Promise((res) => setTimeout(res, 300));
        sleeper.kill();
        expect((await sleeper.exited).signal ?? (await sleeper.exited).code).not.toBe(0);
      } finally {
        await t.close();
      }
    } finally {
      await csh.stop();
    }
  }, 120_000);

  it("a pid read from the node must be digits and above 1 before it reaches kill", () => {
    expect(remotePid("4242\n")).toBe(4242);
    for (const bad of ["1", "0", "-1", "", "12; rm -rf ~", "$(reboot)", "1 2", "99999999999"]) expect(remotePid(bad), bad).toBeNull();
  });
});

