// The agent over SSH against a real sshd: install (idempotent, checksummed), the exec path's
// quoting, the interpreter probe, and the real agent's `env` through openSshTransport.

import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentCommand, channelProcess, connectSsh, installAgent, openSshTransport, probe, verifyRemote,
  type AgentSource, type SshConnection,
} from "../../src-main/ssh/index.js";
import { defaultAgentSource } from "../../src-main/ssh/install.js";
import { startSshFixture, type SshFixture } from "./harness.js";

let fx: SshFixture;
let conn: SshConnection;
let scratch: string;
let echoAgent: AgentSource; // a two-file fractal_agent whose __main__ prints its argv and cwd

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) { stream.off("data", onData); resolve(buf.slice(0, nl)); }
    };
    stream.on("data", onData);
    stream.once("end", () => reject(new Error(`stream ended before a full line: ${JSON.stringify(buf)}`)));
  });
}

const PROTOCOL_VERSION = Number(/^PROTOCOL_VERSION\s*=\s*(\d+)/m.exec(
  readFileSync(join(defaultAgentSource().packageRoot, "fractal_agent", "__init__.py"), "utf8"))![1]);

beforeAll(async () => {
  fx = await startSshFixture();
  conn = await connectSsh(fx.alias, { home: fx.home, agentSocket: null, trustFile: fx.trustFile });
  scratch = mkdtempSync(join(tmpdir(), "fractal-agent-test-"));
  const pkg = join(scratch, "echo-src", "fractal_agent");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, "__init__.py"), 'AGENT_VERSION = "0.0.0-echo"\n');
  writeFileSync(join(pkg, "__main__.py"),
    "import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd(), 'resources': os.environ.get('FRACTAL_AGENT_RESOURCES')}))\n");
  echoAgent = { packageRoot: join(scratch, "echo-src"), resourcesRoot: join(scratch, "no-resources") };
});

afterAll(async () => {
  await conn?.close();
  await fx?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("installAgent", () => {
  it("uploads the agent into ~/.fractal-llm/agent/<version>-<hash>/, verified, and a second call uploads nothing", async () => {
    const first = await installAgent(conn);
    const version = /AGENT_VERSION\s*=\s*"([^"]+)"/.exec(readFileSync(join(defaultAgentSource().packageRoot, "fractal_agent", "__init__.py"), "utf8"))![1];
    expect(first.dir).toMatch(new RegExp(`^${fx.remoteHome}/\\.fractal-llm/agent/${version!.replace(/\./g, "\\.")}-[0-9a-f]{12}$`));
    expect(first.uploaded.length).toBe(first.manifest.files.length);
    expect(first.manifest.files.map((f) => f.path)).toContain("fractal_agent/__main__.py");
    expect(first.manifest.files.map((f) => f.path)).toContain("fractal_agent/spec_values.json"); // data spec.py reads
    // every file landed with the local content (the "remote" is this machine)
    for (const f of first.manifest.files) {
      const local = readFileSync(join(first.dir, f.path));
      expect(createHash("sha256").update(local).digest("hex")).toBe(f.sha256);
    }
    expect(JSON.parse(readFileSync(join(first.dir, "manifest.json"), "utf8"))).toEqual(first.manifest);

    const second = await installAgent(conn);
    expect(second.dir).toBe(first.dir);
    expect(second.uploaded).toEqual([]);
    expect(second.repaired).toEqual([]);
  });

  it("detects a file whose checksum no longer matches, keeps the damaged copy aside and reinstalls", async () => {
    const { dir } = await installAgent(conn);
    const victim = join(dir, "fractal_agent", "spec.py");
    appendFileSync(victim, "\n# edited on the node\n");
    const edited = readFileSync(victim, "utf8");

    const result = await installAgent(conn);
    expect(result.dir).toBe(dir);
    expect(result.repaired.map((m) => m.path)).toEqual(["fractal_agent/spec.py"]);
    expect(result.repaired[0]!.actual).not.toBe(result.repaired[0]!.expected);
    expect(result.uploaded.length).toBe(result.manifest.files.length);
    expect(readFileSync(victim, "utf8")).not.toBe(edited);
    expect(readFileSync(join(result.movedAside!, "fractal_agent", "spec.py"), "utf8")).toBe(edited); // nothing lost
    expect((await verifyRemote(conn, result.movedAside!, result.manifest)).map((m) => m.path)).toEqual(["fractal_agent/spec.py"]);
    expect(await verifyRemote(conn, dir, result.manifest)).toEqual([]);
  });

  it("puts different agent content in a different directory", async () => {
    const a = await installAgent(conn, { source: echoAgent, remoteRoot: "~/other-root" });
    expect(a.dir).toMatch(new RegExp(`^${fx.remoteHome}/other-root/agent/0\\.0\\.0-echo-[0-9a-f]{12}$`));
    expect(a.manifest.files.map((f) => f.path)).toEqual(["fractal_agent/__init__.py", "fractal_agent/__main__.py"]);
    expect(existsSync(join(a.dir, "fractal_agent", "__main__.py"))).toBe(true);
  });
});

describe("the agent exec path", () => {
  it("delivers every argument intact: nothing reaches the remote shell unquoted", async () => {
    const { dir } = await installAgent(conn, { source: echoAgent, remoteRoot: "~/quoting's $(dir)" });
    mkdirSync(join(fx.remoteHome, "canary"));
    const nasty = [
      "a'b; rm -rf ~/canary $(touch pwned1)",
      '"; touch pwned2; echo "',
      "`touch pwned3`",
      "$HOME", "~", "*", "", " lead and trail ", "new\nline", "tab\there", "back\\slash", "!bang", "--sweep", "ünïcødé",
    ];
    const p = await channelProcess(conn, agentCommand(dir, "/usr/bin/python3", nasty));
    const [out, err, status] = await Promise.all([readAll(p.stdout), readAll(p.stderr), p.exited]);
    expect(err).toBe("");
    expect(status).toEqual({ code: 0, signal: null });
    const got = JSON.parse(out);
    expect(got.argv).toEqual(nasty);
    expect(got.cwd).toBe(dir);
    expect(got.resources).toBe(`${dir}/resources`);
    expect(existsSync(join(fx.remoteHome, "canary"))).toBe(true);
    for (const f of ["pwned1", "pwned2", "pwned3"]) {
      expect(existsSync(join(fx.remoteHome, f))).toBe(false);
      expect(existsSync(join(dir, f))).toBe(false);
    }
  });

  it("kill() ends the remote process, also for root logins (where sshd ignores channel signals)", async () => {
    const marker = join(scratch, "kill-marker");
    const p = await channelProcess(conn, `echo started >&2; exec /usr/bin/python3 -c 'import os, time; open("${marker}", "w").write(str(os.getpid())); time.sleep(30)'`);
    let err = "";
    p.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    for (let i = 0; i < 200 && !(existsSync(marker) && readFileSync(marker, "utf8")); i++) await new Promise((r) => setTimeout(r, 20));
    const pid = Number(readFileSync(marker, "utf8"));
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    p.kill();
    expect(await p.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(err).toBe("started\n"); // the pid line is ours, not the caller's
  });
});

describe("probe", () => {
  it("reports an interpreter without torch as 'missing torch', then finds one that has it", async () => {
    const { dir } = await installAgent(conn);
    // A real interpreter that cannot see the system's site-packages (where Debian's torch lives).
    const bare = join(fx.remoteHome, "bare-python");
    writeFileSync(bare, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n', { mode: 0o755 });
    const result = await probe(conn, dir, fx.remoteHome, { python: "~/bare-python" });
    expect(result.tried[0]).toMatchObject({ candidate: "~/bare-python", path: bare, ok: false });
    expect(result.tried[0]!.problem).toMatch(/^missing torch/);
    expect(result.tried[0]!.env?.torch).toBeNull();
    expect(result.chosen?.ok).toBe(true);
    expect(result.chosen?.path).not.toBe(bare);
    expect(result.summary).toContain("~/bare-python -> " + bare + ": missing torch");
  });
});

describe("openSshTransport", () => {
  it("runs the real agent's env and attach over SSH with /usr/bin/python3, and reopens after a drop", async () => {
    const t = await openSshTransport(fx.alias, {
      home: fx.home, agentSocket: null, trustFile: fx.trustFile, python: "/usr/bin/python3",
    });
    try {
      expect(t.label).toBe(`${fx.user}@127.0.0.1:${fx.port}`);
      expect(t.python).toBe("/usr/bin/python3");
      expect(typeof t.env.torch).toBe("string");
      const p = await t.agent(["env"]);
      const [out, status] = await Promise.all([readAll(p.stdout), p.exited]);
      expect(status).toEqual({ code: 0, signal: null });
      const env = JSON.parse(out);
      expect(env.executable).toBe("/usr/bin/python3");
      expect(env.agent).toBe(t.install.manifest.version);
      expect(typeof env.torch).toBe("string");

      // the real daemon through the same exec path: attach starts it detached and bridges its stdio
      const a = await t.agent(["attach", "--idle-timeout", "30", "--workers", "1"]);
      const hello = JSON.parse(await firstLine(a.stdout));
      expect(hello).toMatchObject({ type: "hello", protocol: PROTOCOL_VERSION, agent: t.install.manifest.version });
      expect(hello.home).toBe(`${fx.remoteHome}/.fractal-agent`);
      a.stdin.end(); // detach: the bridge exits, the daemon stays
      expect(await a.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(`/proc/${hello.pid}`)).toBe(true);

      // after a drop: reopen reconnects, finds the install in place and reuses the interpreter
      expect(fx.killServingProcesses()).toBeGreaterThan(0);
      expect((await t.closed)?.retryable).toBe(true);
      const t2 = await t.reopen();
      try {
        expect(t2.install.uploaded).toEqual([]);
        expect(t2.python).toBe("/usr/bin/python3");
        const h = await t2.agent(["--help"]);
        const [help, st] = await Promise.all([readAll(h.stdout), h.exited]);
        expect(st.code).toBe(0);
        expect(help).toContain("usage:");
      } finally {
        await t2.close();
      }
      expect(await t2.closed).toBeNull();
    } finally {
      await t.close();
    }
  });
});
