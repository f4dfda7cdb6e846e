// The layers (docs/ARCHITECTURE.md), one table of allowed imports per folder: each may import itself and the folders
// it lists, below it in cli > electron/web > api > export/launch > ssh > core > analysis > src-shared. The renderer
// reaches the Node side only through the contract (src-shared), so it bundles and type-checks without Node.
// Type-only imports count: a type import against the order is how a cycle starts.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Layer {
  /** folders this one may import (besides itself) */
  may: string[];
  /** Node built-in modules it may import: all, or these */
  node: boolean | string[];
  /** npm packages it may import: all, or these */
  npm: boolean | string[];
}

// The spec's allowed values and defaults: data the agent ships and reads itself, so it lives in the agent's package.
const SPEC_VALUES = "remote-agent/fractal_agent/spec_values.json";

const BELOW_LAUNCH = ["src-main/ssh", "src-main/core", "src-main/analysis", "src-shared"];
const BELOW_API = ["src-main/launch", "src-main/export", ...BELOW_LAUNCH];
const LAYERS: Record<string, Layer> = {
  "src-shared": { may: [], node: false, npm: false },
  // node:zlib compresses PNGs in memory; file I/O is export/'s.
  "src-main/analysis": { may: ["src-shared"], node: ["node:zlib"], npm: false },
  "src-main/core": { may: ["src-main/analysis", "src-shared"], node: true, npm: ["better-sqlite3"] },
  "src-main/ssh": { may: ["src-main/core", "src-main/analysis", "src-shared"], node: true, npm: ["ssh2", "ssh-config"] },
  "src-main/launch": { may: BELOW_LAUNCH, node: true, npm: false },
  "src-main/export": { may: ["src-main/core", "src-main/analysis", "src-shared"], node: true, npm: false },
  "src-main/api": { may: BELOW_API, node: true, npm: ["ssh-config", "tsx"] },
  "src-main/electron": { may: ["src-main/api", ...BELOW_API], node: true, npm: ["electron"] },
  "src-main/web": { may: ["src-main/api", ...BELOW_API], node: true, npm: ["ws"] },
  "src-main/cli": { may: ["src-main/web", "src-main/api", ...BELOW_API], node: true, npm: false },
  "src-renderer": { may: ["src-shared"], node: false, npm: true },
};

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

describe("layers", () => {
  it("parses the forms of import", () => {
    const found = importsOf([
      'import { a } from "./x";', "import type {\n  B,\n} from '../y';", 'export * from "./z";', 'import "./side.css";',
      'const m = await import("three");', '// import { no } from "./comment";', "/* import q from './c' */",
    ].join("\n"));
    expect(found.map((i) => [i.spec, i.typeOnly])).toEqual([["./x", false], ["../y", true], ["./z", false], ["./side.css", false], ["three", false]]);
  });

  it("every folder imports only the folders below it, and the Node and npm modules its row allows", () => {
    const folderOf = (p: string) => Object.keys(LAYERS).find((d) => inside(p, join(ROOT, d)));
    const allFiles = Object.keys(LAYERS).flatMap((d) => sources(join(ROOT, d)));
    expect(allFiles.length).toBeGreaterThan(100);
    // No source file outside the table: a new folder needs its row.
    expect(sources(join(ROOT, "src-main")).filter((f) => !folderOf(f)).map((f) => relative(ROOT, f))).toEqual([]);
    const bad = violations(allFiles, (f, imp, target) => {
      const layer = LAYERS[folderOf(f)!];
      if (target !== null) {
        if (folderOf(f) === "src-shared" && relative(ROOT, target) === SPEC_VALUES) return true;
        const to = folderOf(target);
        return to === folderOf(f) || (to !== undefined && layer.may.includes(to));
      }
      const allows = (rule: boolean | string[], name: string) => rule === true || (Array.isArray(rule) && rule.includes(name));
      if (isBuiltin(imp.spec)) return allows(layer.node, imp.spec.startsWith("node:") ? imp.spec : `node:${imp.spec}`);
      const pkg = imp.spec.startsWith("@") ? imp.spec.split("/").slice(0, 2).join("/") : imp.spec.split("/")[0];
      return allows(layer.npm, pkg);
    });
    expect(bad).toEqual([]);
  });

  it("the renderer's type-check reads no Node-side file and no Node types", () => {
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    const listed = execFileSync(process.execPath, [tsc, "-p", join(ROOT, "src-renderer/tsconfig.json"), "--listFilesOnly"], { encoding: "utf8" })
      .split("\n").filter(Boolean).map((f) => relative(ROOT, f));
    expect(listed.filter((f) => f.startsWith("src-renderer/")).length).toBeGreaterThan(10);
    expect(listed.filter((f) => f !== SPEC_VALUES && (!/^(src-renderer|src-shared|node_modules)\//.test(f) || f.startsWith("node_modules/@types/node/"))))
      .toEqual([]);
  }, 60_000);

  it("src-shared uses no Node global either", () => {
    for (const f of sources(join(ROOT, "src-shared"))) {
      expect(withoutComments(readFileSync(f, "utf8")), relative(ROOT, f)).not.toMatch(/\b(process|Buffer|require|__dirname)\b/);
    }
  });
});
