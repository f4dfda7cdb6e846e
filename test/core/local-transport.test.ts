// The local target finds the agent where FRACTAL_AGENT_DIR says (a packaged app's unpacked resources), else in
// this checkout's remote-agent/.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { agentDir, findLocalPythonWithEnv, REPO_ROOT } from "../../src-main/core/local-transport";
import { PYTHON } from "../cli/helpers";

const saved = process.env.FRACTAL_AGENT_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.FRACTAL_AGENT_DIR;
  else process.env.FRACTAL_AGENT_DIR = saved;
});

describe("local transport agent directory", () => {
  it("defaults to the checkout's remote-agent/", () => {
    delete process.env.FRACTAL_AGENT_DIR;
    expect(agentDir()).toBe(join(REPO_ROOT, "remote-agent"));
  });

  it("runs the agent from FRACTAL_AGENT_DIR, and fails there when it holds no agent", () => {
    const copy = mkdtempSync(join(tmpdir(), "fractal-agent-dir-"));
    cpSync(join(REPO_ROOT, "remote-agent", "fractal_agent"), join(copy, "fractal_agent"), { recursive: true });
    process.env.FRACTAL_AGENT_DIR = copy;
    expect(findLocalPythonWithEnv(PYTHON).env.agent).toBeTruthy();

    process.env.FRACTAL_AGENT_DIR = mkdtempSync(join(tmpdir(), "fractal-no-agent-"));
    expect(() => findLocalPythonWithEnv(PYTHON)).toThrow(/cannot run the agent/);
  });
});
