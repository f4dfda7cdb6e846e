// Per-user locations: the app-data directory (database, agent home for local sweeps) and the default database.

import { homedir } from "node:os";
import { join } from "node:path";

/** XDG_DATA_HOME or ~/.local/share on Linux, ~/Library/Application Support on macOS, %APPDATA% on Windows. */
export function appDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === "darwin") return join(homedir(), "Library", "Application Support", "fractal-llm");
  if (platform === "win32") return join(env.APPDATA || join(homedir(), "AppData", "Roaming"), "fractal-llm");
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "fractal-llm");
}

/** The database the CLI and app use unless told otherwise: $FRACTAL_LLM_DB, else <app data>/fractal-llm.sqlite. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FRACTAL_LLM_DB || join(appDataDir(env), "fractal-llm.sqlite");
}

/**
 * The user's saved hosts: $FRACTAL_LLM_HOSTS, else hosts.sqlite in the app-data directory. One list whichever sweep
 * database is open (--db, FRACTAL_LLM_DB), as ~/.ssh/config is one list.
 */
export function userHostsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FRACTAL_LLM_HOSTS || join(appDataDir(env), "hosts.sqlite");
}

/** Where the local agent keeps its daemon and journals: $FRACTAL_AGENT_HOME, else <app data>/agent-home. */
export function localAgentHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.FRACTAL_AGENT_HOME || join(appDataDir(env), "agent-home");
}
