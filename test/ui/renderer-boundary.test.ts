// The renderer talks to the Node side only through the API contract (docs/ARCHITECTURE.md): it may import
// its own files, the code both sides share (src-main/api/shared: types and pure functions, no Node APIs),
// the contract's types (`import type` from src-main/api/contract.ts) and npm packages. Any other import fails
// here, and so does a shared file that reaches outside shared/ (other than contract types) or into Node.

import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RENDERER = join(ROOT, "src-renderer");
const SHARED = join(ROOT, "src-main/api/shared");
const CONTRACT = join(ROOT, "src-main/api/contract");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

interface Import { spec: string; typeOnly: boolean; line: number }

/** Every module specifier of a file: static import/export ... from, bare imports, dynamic import(), require(). */
export function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const lineAt = (i: number) => text.slice(0, i).split("\n").length;
  const code = withoutComments(text);
  for (const m of code.matchAll(/(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*["']([^"']+)["']/g)) {
    out.push({ spec: m[4], typeOnly: Boolean(m[2]), line: lineAt(m.index ?? 0) });
  }
  for (const m of code.matchAll(/(?:^|[;\n])\s*import\s*["']([^"']+)["']/g)) out.push({ spec: m[1], typeOnly: false, line: lineAt(m.index ?? 0) });
  for (const m of code.matchAll(/\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g)) out.push({ spec: m[1], typeOnly: false, line: lineAt(m.index ?? 0) });
  return out;
}

/** Comments blanked out (line numbers kept); a `//` inside a string or after `:` (a URL) is left alone. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " ")).replace(/(^|[^:"'`])\/\/.*$/gm, (m, p) => p + " ".repeat(m.length - p.length));
}

const stripExt = (p: string) => p.replace(/\.(tsx?|jsx?|mjs)$/, "");
const inside = (p: string, dir: string) => !relative(dir, p).startsWith("..");
const isBuiltin = (spec: string) => spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0]);

function violations(files: string[], allowed: (file: string, imp: Import, target: string | null) => boolean): string[] {
  const bad: string[] = [];
  for (const f of files) {
    for (const imp of importsOf(readFileSync(f, "utf8"))) {
      const target = imp.spec.startsWith(".") ? stripExt(resolve(dirname(f), imp.spec)) : null;
      if (!allowed(f, imp, target)) bad.push(`${relative(ROOT, f)}:${imp.line} imports ${imp.typeOnly ? "type " : ""}"${imp.spec}"`);
    }
  }
  return bad;
}

describe("renderer import boundary", () => {
  it("parses the forms of import", () => {
    const found = importsOf([
      'import { a } from "./x";', "import type {\n  B,\n} from '../y';", 'export * from "./z";', 'import "./side.css";',
      'const m = await import("three");', '// import { no } from "./comment";', "/* import q from './c' */",
    ].join("\n"));
    expect(found.map((i) => [i.spec, i.typeOnly])).toEqual([["./x", false], ["../y", true], ["./z", false], ["./side.css", false], ["three", false]]);
  });

  it("src-renderer imports only itself, the shared module, contract types and npm packages", () => {
    const files = sources(RENDERER);
    expect(files.length).toBeGreaterThan(10);
    const bad = violations(files, (_f, imp, target) => {
      if (target === null) return !isBuiltin(imp.spec);
      if (inside(target, RENDERER) || inside(target, SHARED)) return true;
      return target === CONTRACT && imp.typeOnly;
    });
    expect(bad).toEqual([]);
  });

  it("the shared module imports only itself and contract types, nothing from Node", () => {
    const files = sources(SHARED);
    expect(files.length).toBeGreaterThan(0);
    const bad = violations(files, (_f, imp, target) => {
      if (target === null) return false;
      return inside(target, SHARED) || (target === CONTRACT && imp.typeOnly);
    });
    expect(bad).toEqual([]);
    for (const f of files) expect(withoutComments(readFileSync(f, "utf8")), relative(ROOT, f)).not.toMatch(/\b(process|Buffer|require|__dirname)\b/);
  });
});
