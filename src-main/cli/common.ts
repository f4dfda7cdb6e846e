// What the CLI's commands share: the database they open, the spec file they read, the SSH flags and the target
// those flags open (host-key trust printed, a key's passphrase asked at the terminal without echo).

import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { defaultDbPath, userHostsPath } from "../core/paths";
import { openStore, type Store } from "../core/store";
import { type OpenTarget, openTarget, type TargetOptions } from "../launch/targets";
import { type Spec, validate } from "../../src-shared/spec";
import { UsageError } from "./errors";

export const SSH_OPTIONS = {
  target: { type: "string" },
  python: { type: "string" },
  identity: { type: "string" },
  "accept-new-host-key": { type: "boolean" },
  "accept-host-key": { type: "string", multiple: true },
  db: { type: "string" },
} as const;

export function openDb(path: string | undefined): Store {
  const p = path ?? defaultDbPath();
  if (p !== ":memory:") mkdirSync(dirname(p), { recursive: true });
  return openStore(p, { hostsPath: userHostsPath() });
}

export function readSpecFile(file: string): Spec {
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

export interface SshOpts { target?: string; python?: string; identity?: string; "accept-new-host-key"?: boolean; "accept-host-key"?: string[] }

/** The host-key flags as target options: what is trusted is printed, as are retried connection phases. */
export function hostKeyOptions(o: SshOpts): TargetOptions {
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
export async function openCliTarget(store: Store, o: SshOpts): Promise<OpenTarget> {
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

export async function askPassphrase(keyPath: string): Promise<string> {
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
