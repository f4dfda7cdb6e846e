// Sweep ids are chosen by the client. The id of `sweep --spec FILE` is a hash of the normalised spec and the
// target, so running the same spec against the same target again finds the same sweep: an interrupted run
// resumes, a finished one is reported. `fresh` (the CLI's --new) gives a separate sweep with a random suffix.
// Ids match the agent's pattern [A-Za-z0-9][A-Za-z0-9._-]{0,127}.

import { createHash, randomBytes } from "node:crypto";
import { canonicalJson, type Spec } from "../../src-shared/spec";

export function sweepIdFor(spec: Spec, target: string, fresh: boolean): string {
  const h = createHash("sha256").update(canonicalJson(spec)).update("\n").update(target).digest("hex").slice(0, 16);
  return fresh ? `s${h.slice(0, 8)}-${randomBytes(4).toString("hex")}` : `s${h}`;
}
