// fractal-llm: the headless CLI. Sweeps run on an agent (local Python or an SSH host) and land in the local
// SQLite store; `export` writes a sweep's map as CSV, JSON or PNG.
//
// Sweep ids: `sweep --spec FILE` derives the id from the normalised spec and the target, so running the same
// spec against the same target again resumes (or, if finished, just reports) that sweep; an interrupted run
// (Ctrl-C, a dropped connection, a killed CLI) is resumed by re-running the same command. --new starts a
// separate sweep with a fresh id.

import { StoreError } from "../core/store";
import { FatalAgentError } from "../core/sweep-runner";
import { SpecError } from "../../src-shared/spec";
import { cmdAnimate, cmdDimension, cmdEarlyWarning, cmdReport } from "./analyse";
import { openCliTarget, openDb } from "./common";
import { UsageError } from "./errors";
import { cmdHosts } from "./hosts";
import { cmdExport, cmdSweeps } from "./library";
import { cmdReproduce } from "./reproduce";
import { cmdSamples } from "./samples";
import { cmdSensitivity } from "./sensitivity";
import { cmdFillIn, cmdSweep, cmdZoom } from "./sweep";
import { COMMANDS, commandUsage, USAGE } from "./usage";
import { cmdWeb } from "./web";

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
      case "fill-in": return await cmdFillIn(rest);
      case "sweeps": return cmdSweeps(rest);
      case "export": return cmdExport(rest);
      case "hosts": return await cmdHosts(rest);
      case "dimension": return cmdDimension(rest, openDb);
      case "report": return cmdReport(rest, openDb);
      case "animate": return cmdAnimate(rest, openDb);
      case "early-warning": return cmdEarlyWarning(rest, openDb);
      case "samples": return await cmdSamples(rest, openDb, async (store, o) => (await openCliTarget(store, o)).connect(0));
      case "reproduce": return await cmdReproduce(rest, openDb, openCliTarget);
      case "sensitivity": return await cmdSensitivity(rest, openDb, openCliTarget);
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
