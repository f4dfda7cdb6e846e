// Host key verification: ~/.ssh/known_hosts (plain, hashed |1|, [host]:port, @revoked) plus the
// app's own trust list (JSON). Unknown keys are refused unless the user asked to accept new keys;
// a changed or revoked key is always refused. Nothing is accepted silently.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { appDataDir } from "../core/paths.js";
import { HostKeyError } from "./errors.js";

/** OpenSSH's fingerprint: SHA256:<base64 of sha256(key blob), no padding>. */
export function fingerprint(keyBlob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "");
}

/** The key type is the first string of the SSH wire-format key blob (e.g. "ssh-ed25519"). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error("host key blob too short");
  const n = keyBlob.readUInt32BE(0);
  if (n > keyBlob.length - 4) throw new Error("malformed host key blob");
  return keyBlob.subarray(4, 4 + n).toString("latin1");
}

/** The name OpenSSH files a host under: "host" on port 22, "[host]:port" otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownKey {
  marker: "revoked" | "cert-authority" | null;
  keyType: string;
  key: Buffer;
  /** where it came from, for messages: "file:line" */
  source: string;
}

// ---- known_hosts ----------------------------------------------------------------------------

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** Does a known_hosts host field ("a,b,!c" or "|1|salt|hash") name `name`? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt64, hash64] = field.split("|");
    if (!salt64 || !hash64) return false;
    const want = Buffer.from(hash64, "base64");
    const got = createHmac("sha1", Buffer.from(salt64, "base64")).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false; // a negated match vetoes the line
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

/** Keys that a known_hosts file records for `name`. Missing file: none. */
export function knownHostsKeys(file: string, name: string): KnownKey[] {
  if (!existsSync(file)) return [];
  const out: KnownKey[] = [];
  readFileSync(file, "utf8").split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    let marker: KnownKey["marker"] = null;
    if (fields[0]!.startsWith("@")) {
      const m = fields.shift()!;
      if (m === "@revoked") marker = "revoked";
      else if (m === "@cert-authority") marker = "cert-authority";
      else return; // unknown marker: OpenSSH ignores the line too
    }
    const [hosts, keyType, key64] = fields;
    if (!hosts || !keyType || !key64) return;
    // @revoked lines may use "*" or any pattern; they name the key, and still need to match the host
    if (!hostFieldMatches(hosts, name)) return;
    out.push({ marker, keyType, key: Buffer.from(key64, "base64"), source: `${file}:${i + 1}` });
  });
  return out;
}

// ---- the app's trust list -------------------------------------------------------------------

interface TrustEntry { type: string; key: string; fingerprint: string; added: string }
interface TrustFile { version: 1; hosts: Record<string, TrustEntry[]> }

/** In the per-user app-data dir (core/paths.ts), beside the database. With `home` (tests, a
 *  temporary HOME): the Linux layout under that home, so nothing lands in the real one. */
export function defaultTrustFile(home?: string): string {
  const dir = home === undefined ? appDataDir() : join(home, ".local", "share", "fractal-llm");
  return join(dir, "trusted_hosts.json");
}

function readTrust(file: string): TrustFile {
  if (!existsSync(file)) return { version: 1, hosts: {} };
  const parsed = JSON.parse(readFileSync(file, "utf8")) as TrustFile;
  if (parsed.version !== 1 || typeof parsed.hosts !== "object" || parsed.hosts === null) {
    throw new Error(`${file}: not a fractal-llm trust list (expected {"version":1,"hosts":{...}}); move it aside`);
  }
  return parsed;
}

export function trustedKeys(file: string, name: string): KnownKey[] {
  return (readTrust(file).hosts[name] ?? []).map((e) => ({
    marker: null, keyType: e.type, key: Buffer.from(e.key, "base64"), source: `${file} (${name})`,
  }));
}

/** Record a key in the trust list (write to a temp file, then rename, so a crash keeps the old list). */
export function addTrustedKey(file: string, name: string, keyBlob: Buffer): void {
  const trust = readTrust(file);
  const entries = (trust.hosts[name] ??= []);
  entries.push({ type: keyTypeOf(keyBlob), key: keyBlob.toString("base64"), fingerprint: fingerprint(keyBlob), added: new Date().toISOString() });
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(trust, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
}

// ---- the decision ---------------------------------------------------------------------------

export interface HostKeyPolicy {
  knownHostsFiles: string[];
  trustFile: string;
  /** trust any unknown key (first use) */
  acceptNewHostKey: boolean;
  /** trust an unknown key only when its fingerprint is one of these (the ones the user was shown) */
  acceptFingerprints?: readonly string[];
}

/** Key types we already know for a host, so the handshake can prefer them (as OpenSSH does). */
export function knownKeyTypes(host: string, port: number, policy: HostKeyPolicy): string[] {
  const name = hostKeyName(host, port);
  const keys = [...policy.knownHostsFiles.flatMap((f) => knownHostsKeys(f, name)), ...trustedKeys(policy.trustFile, name)];
  return [...new Set(keys.filter((k) => k.marker === null).map((k) => k.keyType))];
}

export type HostKeyVerdict = "known_hosts" | "trust-list" | "accepted-new";

/** Accept the key (returning why) or throw HostKeyError. */
export function verifyHostKey(host: string, port: number, keyBlob: Buffer, policy: HostKeyPolicy): HostKeyVerdict {
  const name = hostKeyName(host, port);
  const type = keyTypeOf(keyBlob);
  const fp = fingerprint(keyBlob);
  const where = port === 22 ? host : `${host}:${port}`;
  const fromFiles = policy.knownHostsFiles.flatMap((f) => knownHostsKeys(f, name));
  const fromTrust = trustedKeys(policy.trustFile, name);

  const revoked = fromFiles.find((k) => k.marker === "revoked" && k.key.equals(keyBlob));
  if (revoked) {
    throw new HostKeyError({
      problem: "revoked", host, port, keyType: type, fingerprint: fp, knownFingerprints: [],
      message: `Host key for ${where} (${type} ${fp}) is marked @revoked in ${revoked.source}. Refusing to connect.`,
    });
  }
  const plain = [...fromFiles, ...fromTrust].filter((k) => k.marker === null);
  if (fromFiles.some((k) => k.marker === null && k.key.equals(keyBlob))) return "known_hosts";
  if (fromTrust.some((k) => k.key.equals(keyBlob))) return "trust-list";

  if (plain.length > 0) {
    const old = plain.map((k) => `${k.keyType} ${fingerprint(k.key)} (${k.source})`);
    throw new HostKeyError({
      problem: "changed", host, port, keyType: type, fingerprint: fp, knownFingerprints: plain.map((k) => fingerprint(k.key)),
      message:
        `HOST KEY CHANGED for ${where}: the server now presents ${type} ${fp}, but we have on record:\n  ` +
        old.join("\n  ") +
        `\nSomeone may be intercepting the connection (man-in-the-middle), or the server was reinstalled. ` +
        `Refusing to connect, even with --accept-new-host-key. If the change is expected, remove the old entry ` +
        `(ssh-keygen -R '${name}', and from ${policy.trustFile}) and connect again.`,
    });
  }

  const shown = policy.acceptFingerprints ?? [];
  if (policy.acceptNewHostKey || shown.includes(fp)) {
    addTrustedKey(policy.trustFile, name, keyBlob);
    return "accepted-new";
  }
  if (shown.length > 0) {
    throw new HostKeyError({
      problem: "unknown", host, port, keyType: type, fingerprint: fp, knownFingerprints: [],
      message:
        `Host key for ${where} is ${type} ${fp}, not the one you accepted (${shown.join(", ")}). ` +
        `The server presented a different key on this connection than when you were asked: ` +
        `someone may be intercepting it. Nothing was trusted; check the fingerprint with the server's owner.`,
    });
  }
  throw new HostKeyError({
    problem: "unknown", host, port, keyType: type, fingerprint: fp, knownFingerprints: [],
    message:
      `Unknown host key for ${where}: ${type} ${fp}. It is in neither ${policy.knownHostsFiles.join(", ")} ` +
      `nor the app's trust list (${policy.trustFile}). Check the fingerprint with the server's owner ` +
      `(on the server: ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-|-sha2-nistp\d+$/g, "")}_key.pub), ` +
      `then connect again with --accept-host-key ${fp} (or --accept-new-host-key) to trust it.`,
  });
}
