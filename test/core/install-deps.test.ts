// The README's two commands on a fresh Debian machine: as root where there is no sudo, and as a user with sudo,
// before `apt-get update` has ever run. Real bash runs the README's first command, .ci/run and
// scripts/install-deps.sh; apt-get, dpkg-query, npm, id and sudo are stand-ins on PATH that record their calls
// (the real apt-get needs the network and changes the machine).
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers";

const REPO = join(__dirname, "../..");
const REAL_TOOLS = ["bash", "env", "grep", "dirname", "cat"];

/** A PATH of stand-ins. uid: what `id -u` says; sudo: whether a sudo exists; installed: packages dpkg knows. */
function fakeMachine(o: { uid: number; sudo: boolean; installed?: string[] }) {
  const dir = tempDir("fractal-install-");
  const bin = join(dir, "bin"), log = join(dir, "calls.log");
  mkdirSync(bin);
  for (const t of REAL_TOOLS) {
    const real = ["/usr/bin/" + t, "/bin/" + t].find(existsSync);
    if (real) symlinkSync(real, join(bin, t));
  }
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  const who = `[$([ -n "\${SUDO_USER:-}" ] && echo "via sudo" || echo "uid $FAKE_UID")]`;
  script("apt-get", `echo "apt-get ${who} DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-} $*" >> "${log}"
if [ "$FAKE_UID" != 0 ] && [ -z "\${SUDO_USER:-}" ]; then echo "E: Could not open lock file - are you root?" >&2; exit 100; fi`);
  script("dpkg-query", `for p in ${(o.installed ?? []).join(" ")}; do [ "$p" = "\${@: -1}" ] && { echo "install ok installed"; exit 0; }; done; exit 1`);
  script("npm", `echo "npm $*" >> "${log}"`);
  script("id", `[ "$1" = -u ] && echo "$FAKE_UID" || echo "uid=$FAKE_UID"`);
  // Like the real one: a clean environment (DEBIAN_FRONTEND does not pass unless given to env), SUDO_USER set.
  if (o.sudo) script("sudo", `echo "sudo $*" >> "${log}"; exec env -i PATH="$PATH" FAKE_UID=0 SUDO_USER=tester "$@"`);
  const run = (command: string) => {
    const r = spawnSync(join(bin, "bash"), ["-c", command], {
      cwd: REPO, encoding: "utf8", env: { PATH: bin, FAKE_UID: String(o.uid), HOME: dir },
    });
    return { code: r.status, stderr: r.stderr, calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [] };
  };
  return { run };
}

/** The README's first command: the line after "# 1." in its "Two commands" section. */
function readmeCommand(n: 1 | 2): string {
  const lines = readFileSync(join(REPO, "README.md"), "utf8").split("\n");
  const i = lines.findIndex((l) => l.startsWith(`# ${n}. `));
  expect(i, `README has a "# ${n}." command`).toBeGreaterThan(0);
  return lines[i + 1];
}


describe("README command 1: install and open the app", () => {
  it("works as root on a fresh machine with no sudo, running apt-get update before the install", () => {
    const r = fakeMachine({ uid: 0, sudo: false }).run(readmeCommand(1));
    expect(r.stderr).not.toMatch(/command not found/);
    expect(r.code).toBe(0);
    expect(r.calls[0]).toBe("apt-get [uid 0] DEBIAN_FRONTEND=noninteractive update -qq");
    expect(r.calls[1]).toMatch(/^apt-get \[uid 0\] DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends .*python3-torch python3-numpy/);
    expect(r.calls.slice(2)).toEqual(["npm ci", "npm start"]);
  });

  it("works as a user with sudo, keeping apt-get non-interactive through sudo", () => {
    const r = fakeMachine({ uid: 1000, sudo: true }).run(readmeCommand(1));
    expect(r.code, r.stderr).toBe(0);
    const apt = r.calls.filter((c) => c.startsWith("apt-get"));
    expect(apt[0]).toBe("apt-get [via sudo] DEBIAN_FRONTEND=noninteractive update -qq");
    expect(apt[1]).toMatch(/^apt-get \[via sudo\] DEBIAN_FRONTEND=noninteractive install .*python3-torch python3-numpy/);
    expect(r.calls.filter((c) => c.startsWith("npm"))).toEqual(["npm ci", "npm start"]);
  });

  it("installs only what is missing, and touches apt not at all when everything is there", () => {
    const pkgs = /install-deps\.sh ([^&]+)&&/.exec(readmeCommand(1))![1].trim().split(/\s+/);
    expect(pkgs.length).toBeGreaterThan(1);
    const installed = pkgs.filter((_, i) => i % 2 === 0), missing = pkgs.filter((_, i) => i % 2 === 1);
    const some = fakeMachine({ uid: 0, sudo: false, installed }).run(readmeCommand(1));
    expect(some.calls[1]).toBe(`apt-get [uid 0] DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends ${missing.join(" ")}`);
    const all = fakeMachine({ uid: 0, sudo: false, installed: pkgs }).run(readmeCommand(1));
    expect(all.code).toBe(0);
    expect(all.calls).toEqual(["npm ci", "npm start"]);
  });

  it("says what to do as a user without root and without sudo", () => {
    const r = fakeMachine({ uid: 1000, sudo: false }).run(readmeCommand(1));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not root and there is no sudo\.\nRun this as root \(su -c 'bash scripts\/install-deps\.sh .*'\), or install sudo/);
    expect(r.calls).toEqual([]); // npm never ran
  });
});

describe("README command 2: bash .ci/run", () => {
  it("is the second command, and works as root with no sudo and as a sudo user", () => {
    expect(readmeCommand(2)).toBe("bash .ci/run");
    for (const m of [fakeMachine({ uid: 0, sudo: false }), fakeMachine({ uid: 1000, sudo: true })]) {
      const r = m.run("bash .ci/run");
      expect(r.code, r.stderr).toBe(0);
      const apt = r.calls.filter((c) => c.startsWith("apt-get"));
      expect(apt[0]).toMatch(/DEBIAN_FRONTEND=noninteractive update -qq$/);
      expect(apt[1]).toMatch(/DEBIAN_FRONTEND=noninteractive install .*python3-torch .*python3-pytest .*openssh-server .*chromium/);
      expect(r.calls.filter((c) => c.startsWith("npm"))).toEqual(["npm ci --no-audit --no-fund", "npm test"]);
    }
  });
});

