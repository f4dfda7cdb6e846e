// POSIX shell quoting for everything we send to the remote shell.
// ssh exec hands one command string to the user's login shell (`$SHELL -c`), so every path and
// argument must be quoted; nothing from a spec, a path or the user reaches it bare.

const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

/** Quote one word for a POSIX shell (sh, bash, dash, zsh). */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new Error(`cannot pass a NUL byte to the remote shell: ${JSON.stringify(word)}`);
  if (SAFE.test(word)) return word;
  // Inside single quotes nothing is special except the quote itself: close, emit \', reopen.
  return "'" + word.replace(/'/g, "'\\''") + "'";
}

/** Quote each word and join them with spaces. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * The command that runs the agent: cd into its directory, make it importable, point it at the
 * resources uploaded beside it (FRACTAL_AGENT_RESOURCES, see fractal_agent/sft.py), replace the shell.
 * `python` must be an absolute path or a bare command name (no `~`: it would not expand quoted).
 */
export function agentCommand(agentDir: string, python: string, args: readonly string[]): string {
  const dir = shellQuote(agentDir);
  return `cd ${dir} && PYTHONPATH=${dir} FRACTAL_AGENT_RESOURCES=${shellQuote(agentDir + "/resources")} ` +
    `exec ${shellJoin([python, "-m", "fractal_agent", ...args])}`;
}
