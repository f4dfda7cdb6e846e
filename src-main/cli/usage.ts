// The CLI's usage text: the whole of it for --help, and one command's lines for `fractal-llm CMD --help`.

import { defaultDbPath, userHostsPath } from "../core/paths";
import { REPRODUCE_USAGE } from "./reproduce";
import { SAMPLES_USAGE } from "./samples";
import { SENSITIVITY_USAGE } from "./sensitivity";

export const USAGE = `fractal-llm: trainability sweeps (Sohl-Dickstein 2024) from the command line

  fractal-llm sweep --spec FILE [--target local|ALIAS|ssh://user@host:port] [--python PATH]
                    [--identity KEY] [--accept-host-key SHA256:... | --accept-new-host-key] [--new] [--db FILE]
  fractal-llm zoom --sweep ID --window x0,x1,y0,y1 --points N [--target ...] [--db FILE]
  fractal-llm fill-in --sweep ID [--db FILE]       (train the cells a "sampling": "boundary" sweep inferred)
  fractal-llm sweeps [--db FILE]
  fractal-llm export --sweep ID --format csv|json|png --out FILE [--layer score|trainable|stable|finalLoss|heldoutLoss|oodLoss]
                     [--palette spectral|viridis|cividis|magma|rdbu|greys] [--db FILE]
  fractal-llm dimension (--sweep ID [--sequence] | --mask FILE) [--layer trainable|stable] [--estimator project|paper] [--json] [--db FILE]
  fractal-llm report --sweep ID [--sequence] [--format html|md] --out DIR [--layer trainable|stable] [--compare ID,...] [--db FILE]
  fractal-llm animate --sweep ID --out DIR [--frames N] [--width PX] [--db FILE]
  fractal-llm early-warning --sweep ID [--fraction K] [--grad-growth G] [--loss-spike S] [--layer trainable|stable] [--json]
  ${SAMPLES_USAGE}
                    [--python PATH] [--identity KEY]
  ${REPRODUCE_USAGE}            (Table 1 of the paper: docs/REPRODUCTION.md)
  ${SENSITIVITY_USAGE}
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

export const COMMANDS = ["sweep", "zoom", "fill-in", "sweeps", "export", "hosts", "dimension", "report", "animate", "early-warning", "samples",
  "reproduce", "sensitivity", "web"];

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
