// Shell quoting, checked against a real POSIX shell (dash as /bin/sh, and bash).

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { agentCommand, shellJoin, shellQuote } from "../../src-main/ssh/quote.js";

const NASTY = [
  "a'b; rm -rf ~ $(x)", "'", "''", '"', "\\", "$HOME", "${HOME}", "`id`", "$(id)", "~", "~/x", "*", "?", "[a]",
  "a b", " ", "", "\n", "x\ny", "\t", "!", "!!", "#not a comment", "a;b", "a|b", "a&b", "a>b", "<", "()", "{}",
  "--flag=va'l ue", "-", "ünïcødé", "%", "=", "@", ",", "\x01\x7f",
];

/** Run `printf '%s\0' <quoted words>` in a shell and split on NUL: what the shell turned the words into. */
function throughShell(shell: string, words: string[]): string[] {
  const out = execFileSync(shell, ["-c", `printf '%s\\0' ${shellJoin(words)}`], { encoding: "utf8", cwd: "/" });
  return out.split("\0").slice(0, -1);
}

describe("shellQuote", () => {
  it("leaves plain words alone and single-quotes the rest", () => {
    expect(shellQuote("fractal_agent")).toBe("fractal_agent");
    expect(shellQuote("/home/u/.fractal-llm/agent/0.1.0-abc")).toBe("/home/u/.fractal-llm/agent/0.1.0-abc");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("a'b")).toBe("'a'\\''b'");
    expect(shellQuote("~")).toBe("'~'");
  });

  it.each(["/bin/sh", "/bin/bash"])("round-trips every awkward word through %s unchanged", (shell) => {
    expect(throughShell(shell, NASTY)).toEqual(NASTY);
  });

  it("refuses NUL, which no shell argument can carry", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("agentCommand", () => {
  it("quotes the directory, the interpreter and every argument", () => {
    const cmd = agentCommand("/srv/my dir", "/opt/py 3/python", ["attach", "--sweep", "a'b; rm -rf ~ $(x)"]);
    expect(cmd).toBe(
      "cd '/srv/my dir' && PYTHONPATH='/srv/my dir' FRACTAL_AGENT_RESOURCES='/srv/my dir/resources' " +
      "exec '/opt/py 3/python' -m fractal_agent attach --sweep 'a'\\''b; rm -rf ~ $(x)'");
  });

  it("hands the exact argv to the program it execs (checked with a real shell and python)", () => {
    const dir = "/tmp";
    const cmd = agentCommand(dir, "/usr/bin/python3", NASTY).replace("-m fractal_agent", "-c 'import json,sys; print(json.dumps(sys.argv[1:]))'");
    expect(JSON.parse(execFileSync("/bin/sh", ["-c", cmd], { encoding: "utf8" }))).toEqual(NASTY);
  });
});
