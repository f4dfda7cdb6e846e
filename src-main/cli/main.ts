// fractal-llm: the headless CLI. Sweeps run on an agent (local Python or an SSH host) and land in the local
// SQLite store; `export` writes a sweep's map as CSV, JSON or PNG.
//
// Sweep ids: `sweep --spec FILE` derives the id from the normalised spec and the target, so running the same
// spec against the same target again resumes (or, if finished, just reports) that sweep; an interrupted run
// (Ctrl-C, a dropped connection, a killed CLI) is resumed by re-running the same command. --new starts a
// separate sweep with a fresh id.

import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { estimateCost, formatCost, formatDuration } from "../core/cost";
import { describeTasks } from "../../src-shared/format";
import { fmtWindow, type Window } from "../../src-shared/grid";
import { followSweep, prepareSweep, recordSweep, zoomChildSpec } from "../launch/launch";
import { LocalDataError } from "../core/local-data";
import { defaultDbPath, userHostsPath } from "../core/paths";
import { type Spec, SpecError, validate } from "../../src-shared/spec";
import { openStore, type Store, StoreError } from "../core/store";
import { FatalAgentError, type Progress } from "../core/sweep-runner";
import { type OpenTarget, openTarget, sshOptions, targetProfile, type TargetOptions } from "../launch/targets";
import { uploadLine } from "../ssh/upload";
import { describeScheduler, parseScheduler, schedulerSettings } from "../core/scheduler";
import { cmdAnimate, cmdDimension, cmdEarlyWarning, cmdReport } from "./analyse";
import { UsageError } from "./errors";
import { exportSweep, type ExportFormat } from "./export";
import { cmdSamples, SAMPLES_USAGE } from "./samples";
import { cmdReproduce, REPRODUCE_USAGE } from "./reproduce";


const USAGE = `fractal-llm: trainability sweeps (Sohl-Dickstein 2024) from the command line

  fractal-llm sweep --spec FILE [--target local|ALIAS|ssh://user@host:port] [--python PATH]
                    [--identity KEY] [--accept-host-key SHA256:... | --accept-new-host-key] [--new] [--db FILE]
  fractal-llm zoom --sweep ID --window x0,x1,y0,y1 --points N [--target ...] [--db FILE]
  fractal-llm sweeps [--db FILE]
  fractal-llm export --sweep ID --format csv|json|png --out FILE [--layer score|trainable|stable|finalLoss|heldoutLoss|oodLoss] [--db FILE]
  fractal-llm dimension (--sweep ID [--sequence] | --mask FILE) [--layer trainable|stable] [--json] [--db FILE]
  fractal-llm report --sweep ID [--sequence] [--format html|md] --out DIR [--layer trainable|stable] [--compare ID,...] [--db FILE]
  fractal-llm animate --sweep ID --out DIR [--frames N] [--width PX] [--db FILE]
  fractal-llm early-warning --sweep ID [--fraction K] [--grad-growth G] [--loss-spike S] [--layer trainable|stable] [--json]
  ${SAMPLES_USAGE}
                    [--python PATH] [--identity KEY]
  ${REPRODUCE_USAGE}            (Table 1 of the paper: docs/REPRODUCTION.md)
  fractal-llm web [--db FILE] [--port N] [--no-open] [--python PATH]
  fractal-llm hosts add ALIAS --hostname HOST [--port N] [--user USER] [--python PATH] [--agent-dir DIR]
                    [--scheduler slurm [--partition NAME] [--tasks N] [--gpus-per-task G] [--cpus-per-task C]
                     [--time LIMIT] [--account A]]     (a Slurm cluster through its login node: docs/SLURM.md)
  fractal-llm hosts list
  fractal-llm hosts test ALIAS [--identity KEY] [--accept-host-key SHA256:... | --accept-new-host-key]

The database defaults to $FRACTAL_LLM_DB or the per-user app-data directory (${defaultDbPath()}).
Saved hosts are the user's, whichever database is open: $FRACTAL_LLM_HOSTS or ${userHostsPath()}.
Re-running a sweep command resumes the same sweep (its id comes from the spec and target); --new starts another.
An unknown host key is refused with its fingerprint: --accept-host-key FINGERPRINT (repeat it for each ProxyJump hop)
trusts exactly that key, --accept-new-host-key whatever key is presented; either prints what it trusted.
The sweep id is printed as the last line of stdout. --sequence takes the sweep's zoom path (its ancestors, root
first) instead of the sweep alone. \`web\` serves the explorer UI on 127.0.0.1 with a random token in its URL.`;


const SSH_OPTIONS = {
  target: { type: "string" },
  python: { type: "string" },
  identity: { type: "string" },
  "accept-new-host-key": { type: "boolean" },
  "accept-host-key": { type: "string", multiple: true },
  db: { type: "string" },
} as const;

const COMMANDS = ["sweep", "zoom", "sweeps", "export", "hosts", "dimension", "report", "animate", "early-warning", "samples",
  "reproduce", "web"];

/** The lines of USAGE for one command: those that start with `fractal-llm CMD` and the indented ones after them. */
export function commandUsage(cmd: string): string {
  const out: string[] = [];
  let inside = false;
  for (const line of USAGE.split("\n")) {
    const t = line.trim();
    if (t.startsWith("fractal-llm ")) inside = t === `fractal-llm ${cmd}` || t.startsWith(`fractal-llm ${cmd} `);
    else if (!line.startsWith("      ")) inside = false; // continuation lines are indented under their command
    if (inside) out.push(t.startsWith("fractal-llm ") ? "  " + t : line);
  }
  return `usage:\n${out.join("\n")}\n\nAll commands: fractal-llm --help`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (COMMANDS.includes(cmd) && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(commandUsage(cmd) + "\n");
    return 0;
  }
  try {
    switch (cmd) {
      case "sweep": return await cmdSweep(rest);
      case "zoom": return await cmdZoom(rest);
      case "sweeps": return cmdSweeps(rest);
      case "export": return cmdExport(rest);
      case "hosts": return await cmdHosts(rest);
      case "dimension": return cmdDimension(rest, openDb);
      case "report": return cmdReport(rest, openDb);
      case "animate": return cmdAnimate(rest, openDb);
      case "early-warning": return cmdEarlyWarning(rest, openDb);
      case "samples": return await cmdSamples(rest, openDb, async (store, o) => (await openCliTarget(store, o)).connect(0));
      case "reproduce": return await cmdReproduce(rest, openDb, openCliTarget);
      case "web": return await cmdWeb(rest);
      case undefined: case "help": case "--help": case "-h":
        process.stdout.write(USAGE + "\n");
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof SpecError) {
      process.stderr.write(`spec error: ${e.field || "(top level)"}: ${e.detail}\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof StoreError || e instanceof FatalAgentError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    const err = e as Error & { code?: string };
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
        || err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`error: ${err.name === "Error" || err.name === "SshError" || err.name === "HostKeyError" ? "" : err.name + ": "}${err.message}\n`);
    return 1;
  }
}

// ----------------------------------------------------------------------------- helpers

function openDb(path: string | undefined): Store {
  const p = path ?? defaultDbPath();
  if (p !== ":memory:") mkdirSync(dirname(p), { recursive: true });
  return openStore(p, { hostsPath: userHostsPath() });
}

function readSpecFile(file: string): Spec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read spec file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`spec file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return validate(raw);
}

interface SshOpts { target?: string; python?: string; identity?: string; "accept-new-host-key"?: boolean; "accept-host-key"?: string[] }

/** The host-key flags as target options: what is trusted is printed, as are retried connection phases. */
function hostKeyOptions(o: SshOpts): TargetOptions {
  const given = o["accept-host-key"] ?? [];
  for (const fp of given) {
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(fp)) throw new UsageError(`--accept-host-key takes a fingerprint as the refusal showed it (SHA256: and 43 characters), got ${JSON.stringify(fp)}`);
  }
  return {
    acceptNewHostKey: o["accept-new-host-key"] ?? false, acceptHostKeys: given,
    onHostKeyAccepted: (k) => process.stderr.write(`trusted the host key of ${k.port === 22 ? k.host : `[${k.host}]:${k.port}`}: ${k.keyType} ${k.fingerprint} (recorded in ${k.trustFile})\n`),
    onRetry: (m) => process.stderr.write(`${m}\n`),
  };
}

/** Open the command's target (launch/targets.ts) with the CLI's flags; a local Python problem is a usage error. */
async function openCliTarget(store: Store, o: SshOpts): Promise<OpenTarget> {
  const target = o.target ?? "local";
  try {
    return await openTarget(store, target, {
      python: o.python, identity: o.identity, ...hostKeyOptions(o), passphrase: askPassphrase,
    });
  } catch (e) {
    if (target === "local" && !(e instanceof UsageError)) throw new UsageError((e as Error).message, 1);
    throw e;
  }
}

async function askPassphrase(keyPath: string): Promise<string> {
  const env = process.env.FRACTAL_LLM_KEY_PASSPHRASE;
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new UsageError(`${keyPath} is encrypted; set FRACTAL_LLM_KEY_PASSPHRASE or use ssh-agent`);
  return readHidden(`passphrase for ${keyPath}: `);
}

/** Read a line from the terminal without echoing it (raw mode; backspace edits, Ctrl-C / Ctrl-D give up). */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let answer = "";
    const finish = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003" || ch === "\u0004") return finish(new UsageError("no passphrase given", 130));
        if (ch === "\u007f" || ch === "\b") answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    // Echo off before the prompt appears: a reply typed the moment it shows must not reach the screen.
    stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.resume();
    process.stderr.write(prompt);
  });
}

function progressBar(): { update: (p: Progress) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  let lastDone = -1;
  const render = (p: Progress) => {
    const frac = p.total ? p.done / p.total : 0;
    const width = 30;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    return `[${bar}] ${p.done}/${p.total} cells (${(100 * frac).toFixed(1)}%)  ${p.rate.toFixed(1)} cells/s  ETA ${p.eta === null ? "?" : formatDuration(p.eta)}`
      + (p.tasks ? `  ${describeTasks(p.tasks)}` : "");
  };
  return {
    update: (p) => {
      const now = Date.now();
      const line = render(p);
      if (tty) {
        if (now - last < 100 && p.done !== p.total) return;
        process.stderr.write(`\r${line}\x1b[K`);
      } else {
        // Not a terminal (a log file, CI): a line a second, and the finished count once.
        if (p.done === p.total ? lastDone === p.total : now - last < 1000) return;
        process.stderr.write(line + "\n");
      }
      last = now;
      lastDone = p.done;
    },
    end: () => { if (tty && last) process.stderr.write("\n"); },
  };
}

/** Create (or find) the sweep, run it to the end on the target (launch/launch.ts), print its id last. */
async function runSpec(store: Store, given: Spec, o: SshOpts & { new?: boolean }): Promise<number> {
  const target = o.target ?? "local";
  let p;
  try {
    p = await prepareSweep(store, given, target, o.new ?? false);
  } catch (e) {
    if (e instanceof LocalDataError) throw new UsageError(`${e.message}\n(nothing was uploaded or recorded)`);
    throw e;
  }
  const { id, spec } = p;
  for (const w of p.warnings) process.stderr.write(`warning: ${w}\n`);
  if (p.existing?.status === "completed") {
    process.stderr.write(`sweep ${id} already completed (${p.existing.done_cells}/${p.existing.cells} cells) in ${store.path}\n`);
    process.stdout.write(id + "\n");
    return 0;
  }
  const profile = targetProfile(store, target); // what the last connection there found (GPUs), else a guess
  process.stderr.write(`cost: ${formatCost(estimateCost(spec, { device: profile.device, count: profile.count }))}\n`);
  const t = await openCliTarget(store, o); // fails before the sweep is recorded if the target is unusable
  const shown = /^[A-Za-z0-9._-]+$/.test(target) ? target : t.label; // the alias the user typed, else user@host:port
  let row;
  try {
    row = await recordSweep(store, p, t, (r) => process.stderr.write(uploadLine(r, shown) + "\n"));
  } catch (e) {
    await t.close();
    throw e;
  }
  if (p.existing) process.stderr.write(`resuming sweep ${id}: ${row.done_cells}/${row.cells} cells already here\n`);
  process.stderr.write(`sweep ${id} "${spec.name}" on ${t.label}: ${row.cells} cells\n`);

  const abort = new AbortController();
  const onSig = () => abort.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  const bar = progressBar();
  try {
    // Re-running the command also resumes a sweep that was cancelled or failed on the node.
    const r = await followSweep(store, id, t, {
      signal: abort.signal, resume: true,
      onProgress: bar.update, onNotice: (m) => { bar.end(); process.stderr.write(`${m}\n`); },
    });
    bar.end();
    if (r.status === "detached") {
      process.stderr.write(`stopped following at ${r.done}/${r.total} cells; the agent keeps running the sweep. `
        + `Re-run the same command to resume.\n`);
      process.stdout.write(id + "\n");
      return 130;
    }
    process.stderr.write(`sweep ${id}: ${r.status} (${r.done}/${r.total} cells)${r.error ? ": " + r.error : ""}\n`);
    process.stdout.write(id + "\n");
    return r.status === "completed" ? 0 : 1;
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
    await t.close();
  }
}

// ----------------------------------------------------------------------------- commands

async function cmdSweep(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({ args: argv, options: { spec: { type: "string" }, new: { type: "boolean" }, ...SSH_OPTIONS } });
  if (!o.spec) throw new UsageError("sweep needs --spec FILE");
  const spec = readSpecFile(o.spec); // validated before the database is touched
  const store = openDb(o.db);
  try {
    return await runSpec(store, spec, o);
  } finally {
    store.close();
  }
}

function parseWindow(s: string): Window {
  const parts = s.split(",").map((p) => Number(p.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--window must be four numbers x0,x1,y0,y1 in axis units (log10 for a log axis), got ${JSON.stringify(s)}`);
  }
  const [x0, x1, y0, y1] = parts;
  if (!(x0 < x1 && y0 < y1)) throw new UsageError(`--window needs x0 < x1 and y0 < y1, got ${s}`);
  return { x0, x1, y0, y1 };
}

async function cmdZoom(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, window: { type: "string" }, points: { type: "string" }, new: { type: "boolean" }, ...SSH_OPTIONS },
  });
  if (!o.sweep || !o.window || !o.points) throw new UsageError("zoom needs --sweep ID --window x0,x1,y0,y1 --points N");
  const w = parseWindow(o.window);
  const points = Number(o.points);
  const store = openDb(o.db);
  try {
    const parent = store.sweep(o.sweep);
    if (!parent) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    const target = o.target ?? parent.target;
    let child: Spec;
    try {
      child = validate(zoomChildSpec(parent, w, points, target));
    } catch (e) {
      if (e instanceof SpecError && e.field.endsWith(".points")) throw new UsageError(`--points: ${e.detail}`);
      if (e instanceof SpecError) throw e;
      throw new UsageError((e as Error).message);
    }
    process.stderr.write(`zoom of ${parent.id} on window ${fmtWindow(w)}, ${points}x${points} cells\n`);
    return await runSpec(store, child, { ...o, target });
  } finally {
    store.close();
  }
}

function cmdSweeps(argv: string[]): number {
  const { values: o } = parseArgs({ args: argv, options: { db: { type: "string" } } });
  const store = openDb(o.db);
  try {
    const rows = store.sweeps();
    if (!rows.length) {
      process.stderr.write(`no sweeps in ${store.path}\n`);
      return 0;
    }
    const table = [["ID", "STATUS", "CELLS", "GRID", "TARGET", "PARENT", "CREATED", "NAME"]];
    for (const s of rows) {
      table.push([s.id, s.status, `${s.done_cells}/${s.cells}`, `${s.nx}x${s.ny}`, s.target, s.parent_id ?? "-", s.created_at.slice(0, 19), s.name]);
    }
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    for (const r of table) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ") + "\n");
    return 0;
  } finally {
    store.close();
  }
}

function cmdExport(argv: string[]): number {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, format: { type: "string" }, out: { type: "string" }, layer: { type: "string" }, db: { type: "string" } },
  });
  if (!o.sweep || !o.format || !o.out) throw new UsageError("export needs --sweep ID --format csv|json|png --out FILE");
  if (!["csv", "json", "png"].includes(o.format)) throw new UsageError(`--format must be csv, json or png, got ${JSON.stringify(o.format)}`);
  const store = openDb(o.db);
  try {
    if (!store.sweep(o.sweep)) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    const n = exportSweep(store, o.sweep, o.format as ExportFormat, o.out, { layer: o.layer });
    process.stderr.write(`wrote ${o.out} (${n} cells with results)\n`);
    return 0;
  } finally {
    store.close();
  }
}

/** Browser mode: serve the UI and the API until interrupted. */
async function cmdWeb(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: { db: { type: "string" }, port: { type: "string" }, "no-open": { type: "boolean" }, python: { type: "string" } },
  });
  const port = o.port === undefined ? 0 : Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${o.port}`);
  const dbPath = o.db ?? defaultDbPath();
  mkdirSync(dirname(dbPath), { recursive: true });
  const { startWebServer } = await import("../web/server");
  const server = await startWebServer({ dbPath, port, open: !o["no-open"], python: o.python });
  process.stdout.write(`Fractal LLM Explorer (browser mode) on ${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  return 0;
}

async function cmdHosts(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values: o, positionals } = parseArgs({
    args: rest, allowPositionals: true,
    options: {
      hostname: { type: "string" }, port: { type: "string" }, user: { type: "string" }, python: { type: "string" },
      "agent-dir": { type: "string" }, identity: { type: "string" }, "accept-new-host-key": { type: "boolean" }, db: { type: "string" },
      scheduler: { type: "string" }, partition: { type: "string" }, tasks: { type: "string" }, "gpus-per-task": { type: "string" },
      "cpus-per-task": { type: "string" }, time: { type: "string" }, account: { type: "string" },
      "accept-host-key": { type: "string", multiple: true },
    },
  });
  const store = openDb(o.db);
  try {
    if (sub === "list") {
      const hosts = store.hosts();
      if (!hosts.length) process.stderr.write(`no hosts in ${store.hostsPath ?? store.path}; add one with \`fractal-llm hosts add\`\n`);
      for (const h of hosts) {
        process.stdout.write(`${h.alias}\t${h.user ? h.user + "@" : ""}${h.hostname}:${h.port}\tpython=${h.python ?? "(probe)"}\tagent_dir=${h.agent_dir ?? "(default)"}`
          + `${h.scheduler ? `\tscheduler=${describeScheduler(parseScheduler(h.scheduler))}` : ""}\n`);
      }
      return 0;
    }
    const alias = positionals[0];
    if (!alias) throw new UsageError(`hosts ${sub ?? ""} needs an ALIAS\n\n${USAGE}`);
    if (sub === "add") {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(alias) || alias === "local") {
        throw new UsageError(`host alias must be letters, digits, '.', '_' or '-' (and not "local"), got ${JSON.stringify(alias)}`);
      }
      if (!o.hostname) throw new UsageError("hosts add needs --hostname HOST");
      const port = o.port === undefined ? 22 : Number(o.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port must be 1-65535, got ${o.port}`);
      const count = (flag: "tasks" | "gpus-per-task" | "cpus-per-task") => {
        const v = o[flag];
        if (v === undefined) return null;
        if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} must be a whole number, got ${JSON.stringify(v)}`);
        return Number(v);
      };
      let scheduler;
      try {
        scheduler = schedulerSettings({
          scheduler: o.scheduler, partition: o.partition, tasks: count("tasks"), gpusPerTask: count("gpus-per-task"),
          cpusPerTask: count("cpus-per-task"), time: o.time, account: o.account,
        });
      } catch (e) {
        throw new UsageError(`hosts add: ${(e as Error).message.replace(/^(gpusPerTask|cpusPerTask|\w+)/, (k) => "--" + k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()))}`);
      }
      store.addHost({ alias, hostname: o.hostname, port, user: o.user ?? null, python: o.python ?? null, agent_dir: o["agent-dir"] ?? null });
      store.setHostScheduler(alias, scheduler ? JSON.stringify(scheduler) : null);
      if (scheduler) process.stderr.write(`host ${alias}: sweeps run there as Slurm job arrays (${describeScheduler(scheduler)})\n`);
      process.stderr.write(`host ${alias} saved in ${store.path}\n`);
      return 0;
    }
    if (sub === "test") {
      const host = store.host(alias);
      if (!host) throw new UsageError(`unknown host alias ${JSON.stringify(alias)}; \`fractal-llm hosts list\` shows the saved ones, \`fractal-llm hosts add\` adds one`, 1);
      // Opening the target connects, installs the agent (idempotent) and probes the interpreters; print what it found.
      const ssh = await import("../ssh/index");
      const { address, opts } = await sshOptions(store, alias, {
        identity: o.identity, ...hostKeyOptions(o), python: o.python, passphrase: askPassphrase,
      });
      const t = await ssh.openSshTransport(address, opts);
      store.setHostProbe(alias, t.python, t.env);
      try {
        process.stderr.write(`${t.label}: agent installed in ${t.install.dir}\ninterpreters:\n${t.probeResult.summary}\n`);
        process.stdout.write(JSON.stringify({ host: alias, label: t.label, python: t.python, env: t.env }, null, 1) + "\n");
      } finally {
        await t.close();
      }
      return 0;
    }
    throw new UsageError(`hosts needs add, list or test, got ${JSON.stringify(sub)}`);
  } finally {
    store.close();
  }
}
