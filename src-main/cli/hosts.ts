// `hosts add | list | test`: the user's saved hosts (a Slurm login node with its scheduler settings), and a
// connection test that installs the agent and reports the node's interpreters.

import { parseArgs } from "node:util";
import { describeScheduler, parseScheduler, schedulerSettings } from "../core/scheduler";
import { sshOptions } from "../launch/targets";
import { askPassphrase, hostKeyOptions, openDb } from "./common";
import { UsageError } from "./errors";
import { USAGE } from "./usage";

export async function cmdHosts(argv: string[]): Promise<number> {
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
      process.stderr.write(`host ${alias} saved in ${store.hostsPath ?? store.path}\n`);
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
