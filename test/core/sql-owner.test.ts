// The store is the only code that touches SQL: every write goes through its retry-on-lock and error-naming path
// (store.ts, on the handle sqlite-file.ts opens, with the result blocks in result-blocks.ts), every table through
// the numbered migrations (migrations.ts), and every read is a Store method, so the tables' layout is the store's
// to change. This scans the Node sources for SQLite handles of their own and
// for SQL prepared or run anywhere else, reads included.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const ROOT = join(__dirname, "../..");
// preview.ts writes the kept previews, only when the store calls it inside its own write transactions.
const OWNERS = ["src-main/core/store.ts", "src-main/core/sqlite-file.ts", "src-main/core/result-blocks.ts", "src-main/core/migrations.ts",
  "src-main/core/preview.ts"];
const SQL_WRITE = /\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|DROP\s+TABLE|ATTACH\s+DATABASE|REPLACE\s+INTO)\b/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|tsx|mjs|js)$/.test(e.name) ? [join(dir, e.name)] : []);
}

it("no code outside the store opens SQLite or prepares SQL, not even a read", () => {
  const offenders: string[] = [];
  for (const file of sources(join(ROOT, "src-main"))) {
    const rel = relative(ROOT, file);
    if (OWNERS.includes(rel)) continue;
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      const sql = SQL_WRITE.test(line) || /\bstore\.db\b|\bdb\.(prepare|exec|pragma|transaction)\(|\.prepare\(\s*["'`]/.test(line);
      if (/from\s+["']better-sqlite3["']|require\(["']better-sqlite3["']\)/.test(line) || sql) {
        offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  expect(offenders).toEqual([]);
});
