// A real OpenSSH sshd on 127.0.0.1 for tests: temp host key, temp authorized_keys, a temp remote
// $HOME (SetEnv), and a temp local HOME with ~/.ssh/config alias + known_hosts. Reusable for
// end-to-end tests (start, connect by alias, killServingProcesses() to simulate a drop, stop()).
//
//   const fx = await startSshFixture();          // afterAll(() => fx.stop())
//   const t = await openSshTransport(fx.alias, { home: fx.home, agentSocket: null, trustFile: fx.trustFile });

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

export interface KeyPair { path: string; publicLine: string; blob: Buffer }

/** ssh-keygen a key pair; `passphrase` encrypts it (few KDF rounds, to keep tests fast). */
export function keygen(path: string, opts: { type?: "ed25519" | "ecdsa" | "rsa"; passphrase?: string; comment?: string } = {}): KeyPair {
  execFileSync("ssh-keygen", ["-q", "-t", opts.type ?? "ed25519", "-N", opts.passphrase ?? "", "-a", "4", "-C", opts.comment ?? "fractal-test", "-f", path]);
  const publicLine = readFileSync(`${path}.pub`, "utf8").trim();
  return { path, publicLine, blob: Buffer.from(publicLine.split(/\s+/)[1]!, "base64") };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Child pids of `pid`, recursively, with their command names (from /proc). */
function descendants(pid: number): { pid: number; comm: string }[] {
  const children = new Map<number, { pid: number; comm: string }[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${name}/stat`, "utf8"); } catch { continue; } // exited meanwhile
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push({ pid: Number(name), comm });
    children.set(ppid, list);
  }
  const out: { pid: number; comm: string }[] = [];
  const visit = (p: number) => { for (const c of children.get(p) ?? []) { out.push(c); visit(c.pid); } };
  visit(pid);
  return out;
}

/** Pids whose environment has HOME=<home> exactly (processes started by this sshd's sessions). */
function processesWithHome(home: string): number[] {
  const needle = `\0HOME=${home}\0`;
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let env: string;
    try { env = "\0" + readFileSync(`/proc/${name}/environ`, "latin1"); } catch { continue; } // exited meanwhile
    if (env.includes(needle)) out.push(Number(name));
  }
  return out;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

export interface Sshd {
  port: number;
  /** temp dir with the server's files */
  dir: string;
  /** the server's host key ("ssh-ed25519 AAAA...") and its raw blob */
  hostKey: KeyPair;
  /** $HOME of remote sessions (sshd SetEnv), so nothing lands in the real home */
  remoteHome: string;
  pid: number;
  /** the last 8 kB of sshd's log (stderr), for diagnosing a failing test */
  log(): string;
  /** SIGKILL the per-connection sshd processes: every open connection drops, the listener stays. */
  killServingProcesses(): number;
  /** stop the listener and every connection; removes the temp dir */
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** public key lines allowed to log in */
  authorizedKeys: string[];
  hostKeyType?: "ed25519" | "ecdsa" | "rsa";
  /** reuse a host key (to restart "the same" server), else a fresh one */
  hostKey?: KeyPair;
  port?: number;
  /** Run every session's command with this shell (`<shell> -c "<command>"`), as sshd does with a login shell
   *  from /etc/passwd (tests cannot change the account's own shell); SFTP still works. */
  loginShell?: string;
}

/** A ForceCommand script that hands the client's command to `shell -c`, as sshd would with that login shell
 *  (subsystem requests, i.e. SFTP, go to the sftp server as usual). */
function forcedShell(dir: string, shell: string): string {
  const script = join(dir, "login-shell.sh");
  const sftp = ["/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/sftp-server"].find(existsSync) ?? "/usr/lib/openssh/sftp-server";
  writeFileSync(script, [
    "#!/bin/sh",
    `if [ "$SSH_ORIGINAL_COMMAND" = sftp ] || [ "$SSH_ORIGINAL_COMMAND" = internal-sftp ]; then exec ${sftp}; fi`,
    `exec ${shell} -c "$SSH_ORIGINAL_COMMAND"`,
    "",
  ].join("\n"), { mode: 0o755 });
  return script;
}

const running = new Set<ChildProcess>();
process.once("exit", () => { for (const p of running) if (p.pid) killQuietly(p.pid, "SIGKILL"); });

export async function startSshd(opts: SshdOptions): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "fractal-sshd-"));
  const remoteHome = join(dir, "remote-home");
  mkdirSync(remoteHome);
  const hostKey = opts.hostKey ?? keygen(join(dir, "host_key"), { type: opts.hostKeyType });
  writeFileSync(join(dir, "authorized_keys"), opts.authorizedKeys.join("\n") + "\n", { mode: 0o600 });
  const port = opts.port ?? (await freePort());
  writeFileSync(join(dir, "sshd_config"), [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${hostKey.path}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "AllowTcpForwarding yes",
    "Subsystem sftp internal-sftp",
    // The run's id too (vitest.config.ts), so test/daemon-guard.ts also finds a daemon an SSH test left running.
    `SetEnv HOME=${remoteHome}${process.env.FRACTAL_TEST_RUN ? ` FRACTAL_TEST_RUN=${process.env.FRACTAL_TEST_RUN}` : ""}`,
    ...(opts.loginShell ? [`ForceCommand ${forcedShell(dir, opts.loginShell)}`] : []),
    "LogLevel INFO",
    "",
  ].join("\n"));
  mkdirSync("/run/sshd", { recursive: true }); // privilege separation dir (absent in containers)

  const proc = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  running.add(proc);
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      log = (log + d.toString()).slice(-8000);
      if (log.includes("Server listening on")) { proc.stderr!.off("data", onData); resolve(); }
    };
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`sshd exited (${code}) before listening:\n${log}`)));
    proc.once("error", reject);
  });
  proc.removeAllListeners("exit");
  proc.stderr!.on("data", (d: Buffer) => { log = (log + d.toString()).slice(-8000); });
  const pid = proc.pid!;

  // Commands that sessions started outlive a killed sshd (as on a real node); remember them for stop().
  const orphans = new Set<number>();
  const killServingProcesses = () => {
    const all = descendants(pid);
    const serving = all.filter((p) => p.comm.startsWith("sshd"));
    for (const p of all) if (!p.comm.startsWith("sshd")) orphans.add(p.pid);
    for (const p of serving) killQuietly(p.pid, "SIGKILL");
    return serving.length;
  };
  const stop = async () => {
    if (!running.has(proc)) return;
    running.delete(proc);
    for (const p of descendants(pid)) killQuietly(p.pid, "SIGKILL");
    for (const p of orphans) killQuietly(p, "SIGKILL");
    // Daemons started over SSH detach (setsid) from sshd but carry the sessions' HOME: end those too.
    for (const p of processesWithHome(remoteHome)) killQuietly(p, "SIGKILL");
    const gone = new Promise<void>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once("exit", () => resolve())));
    killQuietly(pid, "SIGTERM");
    await gone;
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, dir, hostKey, remoteHome, pid, log: () => log, killServingProcesses, stop };
}

// ---- a client-side HOME with an alias -----------------------------------------------------------

export interface SshFixture {
  alias: string;
  /** local HOME holding .ssh/config, .ssh/known_hosts and .ssh/id_ed25519 */
  home: string;
  port: number;
  user: string;
  /** the app trust list path to pass as trustFile (empty at start) */
  trustFile: string;
  /** the client key (unencrypted, in authorized_keys) */
  key: KeyPair;
  sshd: Sshd;
  remoteHome: string;
  killServingProcesses(): number;
  stop(): Promise<void>;
}

/** sshd + a temp HOME whose ~/.ssh/config names it `alias` and whose known_hosts trusts it.
 *  `banner`: the node account's shell start-up files (.bashrc, .profile, .bash_profile, .cshrc) print it on stdout,
 *  as a chatty node's do. `loginShell`: see SshdOptions. */
export async function startSshFixture(opts: { alias?: string; banner?: string; loginShell?: string } = {}): Promise<SshFixture> {
  const alias = opts.alias ?? "fractal-test";
  const home = mkdtempSync(join(tmpdir(), "fractal-home-"));
  const ssh = join(home, ".ssh");
  mkdirSync(ssh, { mode: 0o700 });
  const key = keygen(join(ssh, "id_ed25519"));
  const sshd = await startSshd({ authorizedKeys: [key.publicLine], loginShell: opts.loginShell });
  if (opts.banner !== undefined) {
    for (const rc of [".bashrc", ".profile", ".bash_profile", ".cshrc"]) {
      writeFileSync(join(sshd.remoteHome, rc), `echo ${JSON.stringify(opts.banner)}\n`);
    }
  }
  const user = userInfo().username;
  writeFileSync(join(ssh, "config"), [
    `Host ${alias}`,
    "  HostName 127.0.0.1",
    `  Port ${sshd.port}`,
    `  User ${user}`,
    "  IdentityFile ~/.ssh/id_ed25519",
    "",
  ].join("\n"));
  writeFileSync(join(ssh, "known_hosts"), `[127.0.0.1]:${sshd.port} ${sshd.hostKey.publicLine}\n`);
  return {
    alias, home, port: sshd.port, user, trustFile: join(home, "trusted_hosts.json"), key, sshd,
    remoteHome: sshd.remoteHome,
    killServingProcesses: sshd.killServingProcesses,
    async stop() {
      await sshd.stop();
      if (existsSync(home)) rmSync(home, { recursive: true, force: true });
    },
  };
}
