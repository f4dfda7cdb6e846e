// The TypeScript validator must agree with the agent's (remote-agent/fractal_agent/spec.py) on every shared
// fixture: valid -> the same normalised spec; invalid -> an error naming the same field.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SpecError, validate } from "../../src-shared/spec";

const REPO = resolve(__dirname, "../..");
const FIXTURES = join(REPO, "test/fixtures/specs");
const PYTHON = process.env.FRACTAL_PYTHON ?? "/usr/bin/python3";
const list = (kind: string) => readdirSync(join(FIXTURES, kind)).filter((f) => f.endsWith(".json")).sort();

// One Python process validates every fixture and prints {file: normalised spec | {field, message}}.
const PY = `
import json, pathlib, sys
from fractal_agent import spec as S
out = {}
for kind in ("valid", "invalid"):
    for p in sorted(pathlib.Path(sys.argv[1], kind).glob("*.json")):
        raw = json.loads(p.read_text())
        try:
            out[kind + "/" + p.name] = {"spec": S.validate(raw if kind == "valid" else raw["spec"])}
        except S.SpecError as e:
            out[kind + "/" + p.name] = {"field": e.field, "message": e.message}
print(json.dumps(out))
`;
const python: Record<string, { spec?: unknown; field?: string; message?: string }> = JSON.parse(
  execFileSync(PYTHON, ["-c", PY, FIXTURES], { env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent") } }).toString(),
);

describe("spec validation agrees with the agent", () => {
  it("has fixtures to compare", () => {
    expect(list("valid").length).toBeGreaterThanOrEqual(5);
    expect(list("invalid").length).toBeGreaterThanOrEqual(15);
  });

  it.each(list("valid"))("valid/%s normalises exactly as Python does", (file) => {
    const raw = JSON.parse(readFileSync(join(FIXTURES, "valid", file), "utf8"));
    const before = JSON.stringify(raw);
    const spec = validate(raw);
    expect(python[`valid/${file}`].spec).toBeDefined();
    expect(spec).toEqual(python[`valid/${file}`].spec);
    expect(JSON.stringify(raw)).toBe(before); // input untouched
    expect(validate(spec)).toEqual(spec); // idempotent
  });

  it.each(list("invalid"))("invalid/%s is rejected naming the same field", (file) => {
    const c = JSON.parse(readFileSync(join(FIXTURES, "invalid", file), "utf8"));
    let err: unknown;
    try {
      validate(c.spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const e = err as SpecError;
    expect(e.field).toBe(c.field);
    expect(e.field).toBe(python[`invalid/${file}`].field);
    expect(e.detail).toContain(c.contains);
    expect(e.detail).toBe(python[`invalid/${file}`].message);
  });
});
