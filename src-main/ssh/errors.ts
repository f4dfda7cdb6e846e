// Typed errors for the SSH transport, so the CLI / UI can react (prompt, retry, give up).

export type SshErrorKind =
  | "config"        // bad target / ssh config: fix and retry by hand
  | "host-key"      // unknown, changed or revoked host key (HostKeyError)
  | "auth"          // no method the server accepted, or a key we could not decrypt
  | "unknown-host"  // DNS does not know the host name (ENOTFOUND): a typo, or a name only another network resolves
  | "unreachable"   // a temporary DNS failure, connection refused, network unreachable
  | "timeout"       // no SSH handshake within the time limit
  | "dropped"       // an established connection went away
  | "protocol"      // the SSH handshake failed for another reason (no common algorithm, ...)
  | "remote";       // the remote side is not usable (no python with torch, install failed)

/**
 * Network trouble is worth retrying with backoff; the rest needs a person. A name DNS answers it does not know is not
 * retried: the answer will be the same in a second (the user waited 15 s behind "testing…" for five of them).
 */
const RETRYABLE: ReadonlySet<SshErrorKind> = new Set(["unreachable", "timeout", "dropped"]);

export class SshError extends Error {
  readonly kind: SshErrorKind;
  /** "user@host:port" or "host:port" of the machine the error is about (may be a jump host). */
  readonly where: string;
  readonly retryable: boolean;
  constructor(kind: SshErrorKind, where: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SshError";
    this.kind = kind;
    this.where = where;
    this.retryable = RETRYABLE.has(kind);
  }
}

export type HostKeyProblem = "unknown" | "changed" | "revoked";

/** A host key we refuse. `unknown` can be accepted by the user (acceptNewHostKey); the others cannot. */
export class HostKeyError extends SshError {
  readonly problem: HostKeyProblem;
  readonly host: string;
  readonly port: number;
  readonly keyType: string;
  /** OpenSSH format: SHA256:<base64 without padding> */
  readonly fingerprint: string;
  /** For `changed`: the fingerprints we had on record for this host. */
  readonly knownFingerprints: string[];
  constructor(a: {
    problem: HostKeyProblem; host: string; port: number; keyType: string;
    fingerprint: string; knownFingerprints: string[]; message: string;
  }) {
    super("host-key", a.port === 22 ? a.host : `${a.host}:${a.port}`, a.message);
    this.name = "HostKeyError";
    this.problem = a.problem;
    this.host = a.host;
    this.port = a.port;
    this.keyType = a.keyType;
    this.fingerprint = a.fingerprint;
    this.knownFingerprints = a.knownFingerprints;
  }
}

/** True when reconnecting (re-calling openSshTransport) may succeed without anyone changing anything. */
export function isRetryable(err: unknown): boolean {
  return err instanceof SshError && err.retryable;
}
