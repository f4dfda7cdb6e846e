// First launch: the app opens on the demo maps (resources/demo.sqlite, made by scripts/make-demo-db.ts) when
// the user's database has no sweeps of its own. They are copied INTO the user's database rather than opened
// beside it, so everything works on them as on the user's own sweeps (zoom scans into a demo map, rename,
// tag, delete). The copy happens only while the user's database holds no sweeps at all; once it holds any,
// it is never touched. Hosts and other settings already in it are kept.

import Database from "better-sqlite3";
import { constants, copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { openStore } from "../core/store";

/** Tables that hold sweeps and their results, parents first (foreign keys). */
const SWEEP_TABLES = ["sweeps", "result_blocks", "done_blocks", "curves"];

/**
 * Seed `dbPath` with the sweeps of `demoPath` when it has none. Returns the number of sweeps copied (0: the
 * user already has sweeps). A database that does not exist yet is created as a copy of the demo file.
 */
export function seedDemoIfEmpty(dbPath: string, demoPath: string): number {
  if (!existsSync(demoPath)) throw new Error(`demo database ${demoPath} is missing; regenerate it with \`npm run demo:db\``);
  if (!existsSync(dbPath)) {
    mkdirSync(dirname(dbPath), { recursive: true });
    // Copy under a temporary name, then migrate it to this build's schema through the store, then rename.
    const tmp = `${dbPath}.demo-${process.pid}`;
    copyFileSync(demoPath, tmp);
    const s = openStore(tmp);
    const n = s.sweeps().length;
    s.db.pragma("wal_checkpoint(TRUNCATE)");
    s.close();
    for (const suffix of ["-wal", "-shm"]) rmSync(tmp + suffix, { force: true });
    // COPYFILE_EXCL: never replace a database another process created meanwhile.
    try {
      copyFileSync(tmp, dbPath, constants.COPYFILE_EXCL);
    } finally {
      rmSync(tmp);
    }
    return n;
  }
  const store = openStore(dbPath);
  try {
    if (store.sweeps().length > 0) return 0;
    // The demo through the store too, on a private copy, so its schema is migrated to this build's first.
    const tmp = `${dbPath}.demo-${process.pid}`;
    copyFileSync(demoPath, tmp);
    openStore(tmp).close();
    try {
      store.db.prepare("ATTACH DATABASE ? AS demo").run(tmp);
      store.db.transaction(() => {
        for (const t of SWEEP_TABLES) {
          const cols = (store.db.prepare(`PRAGMA demo.table_info(${t})`).all() as { name: string }[]).map((c) => `"${c.name}"`).join(", ");
          store.db.exec(`INSERT INTO main.${t} (${cols}) SELECT ${cols} FROM demo.${t}`);
        }
      })();
      store.db.exec("DETACH DATABASE demo");
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(tmp + suffix, { force: true });
    }
    return store.sweeps().length;
  } finally {
    store.close();
  }
}

/** Sweeps in a database, without migrating or otherwise writing to it (tests, `npm start`'s message). */
export function countSweeps(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM sweeps").get() as { n: number }).n;
  } finally {
    db.close();
  }
}
