// First launch: the app (Electron, `npm start`, `fractal-llm web`) opens on the demo maps (resources/demo.sqlite,
// made by scripts/make-demo-db.ts) when the user's database has no sweeps of its own. They are copied INTO the user's database rather than opened
// beside it, so everything works on them as on the user's own sweeps (zoom scans into a demo map, rename,
// tag, delete). The copy happens only while the user's database holds no sweeps at all; once it holds any,
// it is never touched. Hosts and other settings already in it are kept.

import { constants, copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { countSweeps, openStore } from "./store";

export { countSweeps }; // sweeps in a database, read without writing to it (tests, `npm start`'s message)

/**
 * Seed `dbPath` with the sweeps of `demoPath` when it has none. Returns the number of sweeps copied (0: the
 * user already has sweeps). A database that does not exist yet is created as a copy of the demo file. All SQL is
 * the store's (Store.importFrom); this only decides when.
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
    s.checkpoint();
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
    return store.importFrom(demoPath); // migrated on a private copy first; the shipped file is never written
  } finally {
    store.close();
  }
}
