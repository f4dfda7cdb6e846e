// The change feed: subscribers get sweep-updated / sweep-deleted events for every change to the sweeps table, and the
// service's notices. Changes are found two ways: a poll of the sweeps table (cheap: one indexed query) that also sees
// sweeps written by other processes, such as a `fractal-llm sweep` running in a terminal against the same database,
// and a watch on the database's WAL file that runs the poll within milliseconds of any write.

import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Store, SweepRow } from "../core/store";
import type { ApiEvent } from "../../src-shared/contract";
import { sweepSummary } from "./sweep-rows";

export class ChangeFeed {
  private readonly listeners = new Set<(e: ApiEvent) => void>();
  private readonly seen = new Map<string, string>(); // id -> updated_at|done_cells|status
  private readonly timer: NodeJS.Timeout;
  private watcher: FSWatcher | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private lastPollError: string | null = null;
  closed = false;

  /** `onDeleted`: a sweep left the table (here or in another process), so what is kept of it can go. */
  constructor(private readonly store: Store, pollMs: number, private readonly onDeleted: (id: string) => void) {
    for (const s of store.sweeps()) this.seen.set(s.id, stamp(s));
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
    this.watchDatabase();
  }

  /**
   * Push, not only poll: any write to the database (this process's followers, or a CLI sweep in a terminal)
   * touches its WAL file, and a change there runs the poll within a few milliseconds, so a result reaches
   * subscribers without waiting for the next poll tick. The timer stays as the fallback where watching fails.
   */
  private watchDatabase(): void {
    if (this.store.path === ":memory:") return;
    const file = basename(this.store.path);
    try {
      this.watcher = watch(dirname(this.store.path), { persistent: false }, (_event, name) => {
        if (this.closed || (name !== `${file}-wal` && name !== file) || this.watchTimer) return;
        this.watchTimer = setTimeout(() => { this.watchTimer = null; this.poll(); }, 10);
      });
      this.watcher.on("error", () => { this.watcher?.close(); this.watcher = null; });
    } catch {
      this.watcher = null; // polling only
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.watcher?.close();
    if (this.watchTimer) clearTimeout(this.watchTimer);
  }

  subscribe(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e);
  }

  notice(sweepId: string | null, message: string, level: "info" | "done" | "error" = "info"): void {
    this.emit({ type: "notice", sweepId, message, level });
  }

  poll(): void {
    if (this.closed) return; // followers winding down after close() must not touch a store about to close
    // Called from timers and callbacks: a store that cannot be read (disk gone, locked past its limit) is a
    // notice naming it, once per distinct message, never an exception that ends the process.
    let rows: SweepRow[];
    try {
      rows = this.store.sweeps();
    } catch (e) {
      const message = `cannot read the sweeps: ${(e as Error).message}`;
      if (message !== this.lastPollError) this.notice(null, message, "error");
      this.lastPollError = message;
      return;
    }
    this.lastPollError = null;
    const now = new Set<string>();
    for (const s of rows) {
      now.add(s.id);
      const st = stamp(s);
      if (this.seen.get(s.id) !== st) {
        this.seen.set(s.id, st);
        this.emit({ type: "sweep-updated", sweep: sweepSummary(this.store, s) });
      }
    }
    for (const id of [...this.seen.keys()]) {
      if (!now.has(id)) {
        this.seen.delete(id);
        this.onDeleted(id);
        this.emit({ type: "sweep-deleted", id });
      }
    }
  }
}

function stamp(s: SweepRow): string {
  return `${s.updated_at}|${s.done_cells}|${s.status}|${s.name}`;
}
