// A second process on the same database, for test/core/store-reliability.test.ts (real processes, real files).
//   open PATH... START_MS   wait until START_MS (so the processes race), open (create, migrate) each PATH in turn
//                          START_MS + 400 ms apart, print one JSON line per PATH: {ok, version, tables} or {ok, error}
//   lock PATH HOLD_MS      hold the write lock (BEGIN IMMEDIATE) for HOLD_MS, printing "locked" once it is held
import { register } from "tsx/esm/api";
import Database from "better-sqlite3";

register();
const { openStore } = await import("../../src-main/core/store.ts");
const [cmd, ...args] = process.argv.slice(2);

if (cmd === "open") {
  const start = Number(args.pop());
  for (const [i, path] of args.entries()) {
    while (Date.now() < start + 400 * i) { /* spin: the processes start this open within a millisecond */ }
    try {
      const s = openStore(path);
      const version = s.db.pragma("user_version", { simple: true });
      const tables = s.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
      s.close();
      console.log(JSON.stringify({ ok: true, version, tables }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: String(e.message) }));
    }
  }
} else if (cmd === "lock") {
  const [path, hold] = args;
  const db = new Database(path);
  db.exec("BEGIN IMMEDIATE");
  db.prepare("INSERT INTO hosts (alias, hostname, port, created_at) VALUES ('holder', 'h', 22, 'now')").run();
  console.log("locked");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(hold));
  db.exec("COMMIT");
  db.close();
} else {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
