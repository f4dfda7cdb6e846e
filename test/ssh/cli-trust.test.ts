// The CLI's side of trust, against a real sshd: what --accept-new-host-key trusted is printed, --accept-host-key
// trusts exactly the fingerprint given (another key is refused, nothing recorded), and the key passphrase typed
// at the terminal is not echoed (the CLI runs under a pseudo-terminal from util-linux `script`).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../core/helpers";
import { BIN, PYTHON, run } from "../cli/helpers";
import { keygen, startSshFixture, type SshFixture } from "./harness";

let fx: SshFixture;
beforeAll(async () => { fx = await startSshFixture({ alias: "trust-node" }); });
afterAll(async () => { await fx?.stop(); });

const fingerprintOf = (pub: string) => execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pub], { encoding: "utf8" }).split(" ")[1]!;

function env(dir: string): Record<string, string> {
  return { HOME: fx.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: join(dir, "data"), FRACTAL_LLM_DB: join(dir, "db.sqlite") };
}

async function addHost(e: Record<string, string>, alias: string): Promise<void> {
  const r = await run(["hosts", "add", alias, "--hostname", "127.0.0.1", "--port", String(fx.port), "--user", fx.user, "--python", PYTHON], e);
  expect(r.code, r.stderr).toBe(0);
}

describe("fractal-llm hosts test and host keys", () => {
  it("--accept-host-key with another fingerprint is refused and records nothing; the shown one is trusted and printed", async () => {
    writeFileSync(join(fx.home, ".ssh", "known_hosts"), "");
    const dir = tempDir("fractal-cli-trust-");
    const e = env(dir);
    await addHost(e, "n1");
    const trustFile = join(dir, "data", "fractal-llm", "trusted_hosts.json");
    const shown = fingerprintOf(`${fx.sshd.hostKey.path}.pub`);

    const refused = await run(["hosts", "test", "n1"], e);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`--accept-host-key ${shown}`);

    const other = fingerprintOf(`${keygen(join(dir, "other")).path}.pub`);
    const wrong = await run(["hosts", "test", "n1", "--accept-host-key", other], e);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`not the one you accepted (${other})`);
    expect(existsSync(trustFile)).toBe(false);

    const ok = await run(["hosts", "test", "n1", "--accept-host-key", shown], e);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(`trusted the host key of [127.0.0.1]:${fx.port}: ssh-ed25519 ${shown} (recorded in ${trustFile})`);
    expect(readFileSync(trustFile, "utf8")).toContain(shown);
  }, 120_000);

  it("--accept-new-host-key prints the fingerprint it trusted", async () => {
    writeFileSync(join(fx.home, ".ssh", "known_hosts"), "");
    const dir = tempDir("fractal-cli-tofu-");
    const e = env(dir);
    await addHost(e, "n2");
    const r = await run(["hosts", "test", "n2", "--accept-new-host-key"], e);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`trusted the host key of [127.0.0.1]:${fx.port}: ssh-ed25519 ${fingerprintOf(`${fx.sshd.hostKey.path}.pub`)}`);
  }, 120_000);

  it("asks for an encrypted key's passphrase at the terminal without echoing it", async () => {
    writeFileSync(join(fx.home, ".ssh", "known_hosts"), `[127.0.0.1]:${fx.port} ${fx.sshd.hostKey.publicLine}\n`);
    const dir = tempDir("fractal-cli-pass-");
    const e = env(dir);
    await addHost(e, "n3");
    const secret = "hunter2-passphrase";
    const key = keygen(join(dir, "enc_key"), { passphrase: secret });
    // Let the server accept that key as well.
    const auth = join(fx.sshd.dir, "authorized_keys");
    writeFileSync(auth, readFileSync(auth, "utf8") + key.publicLine + "\n");
    const cmd = [process.execPath, BIN, "hosts", "test", "n3", "--identity", key.path].map((w) => `'${w}'`).join(" ");
    const child = spawn("script", ["-qefc", cmd, "/dev/null"], { env: { ...process.env, ...e }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let typed = false;
    const onOut = (d: Buffer) => {
      out += d.toString();
      if (!typed && out.includes("passphrase for")) { typed = true; child.stdin.write(secret + "\r"); }
    };
    child.stdout.on("data", onOut);
    child.stderr.on("data", onOut);
    const code = await new Promise<number | null>((res) => child.on("close", res));
    expect(typed, out).toBe(true);
    expect(code, out).toBe(0);
    expect(out).toMatch(/agent installed in/);
    expect(out).not.toContain(secret);
    expect(out).not.toContain("*".repeat(secret.length));
  }, 120_000);
});
