// Shell quoting for everything we send to the remote shell.
// ssh exec hands one command string to the user's login shell (`$SHELL -c`), which may be bash, zsh, fish or
// tcsh. So every command is written for POSIX sh, with every path and argument quoted (nothing from a spec, a
// path or the user reaches it bare), and then handed to `sh -c` as one word that every one of those shells
// reads the same way (loginShellCommand).

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

/**
 * One word that POSIX shells, fish and csh/tcsh all read back as `word`: single-quoted, with each quote and
 * backslash written outside the quotes, escaped by a backslash (fish reads two backslashes inside single quotes as
 * one, csh and POSIX shells read them as two; outside quotes all of them read backslash-quote and
 * backslash-backslash as the character). Not supported by csh: a newline inside a word, and `!` directly before
 * a word (csh expands history even in `csh -c`); the app's commands have neither.
 */
export function anyShellQuote(word: string): string {
  if (word.includes("\0")) throw new Error(`cannot pass a NUL byte to the remote shell: ${JSON.stringify(word)}`);
  return "'" + word.replace(/['\\]/g, (c) => `'\\${c}'`) + "'";
}

/** What an exec channel sends: the POSIX `command` run by `sh -c`, whatever the account's login shell is. */
export function loginShellCommand(command: string): string {
  return `sh -c ${anyShellQuote(command)}`;
}

/** A process id read from the node, checked before it is put in a `kill` command: digits only, above 1. */
export function remotePid(text: string): number | null {
  const t = text.trim();
  if (!/^[0-9]{1,10}$/.test(t)) return null;
  const n = Number(t);
  return n > 1 && n <= 2 ** 31 - 1 ? n : null;
}
