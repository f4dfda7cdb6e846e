// Which cells each ingest added, per sweep: the store's delta log. Ingest knows which cells are new (their done bit
// was clear), so a streaming reader (api/deltas.ts) asks here instead of diffing done bitmaps. Kept in memory, for
// this process's ingests only: a span another process wrote into is not here, and the reader falls back to the diff.
// Versions are the sweep's done counts: every new cell adds one, so an ingest takes the sweep from `from` to `to`.

/** At most this many cells of history per sweep; older ingests are dropped (a reader that far behind diffs). */
const KEEP_CELLS = 1 << 22;

interface Entry { from: number; to: number; cells: Uint32Array }
interface SweepLog { created: string; entries: Entry[]; kept: number }

export class IngestLog {
  private readonly sweeps = new Map<string, SweepLog>();

  /**
   * An ingest committed: `cells` became done, taking the sweep (created at `created`) from `from` done cells on. An
   * ingest that does not start where the last one ended follows another process's: the chain before it is dropped.
   */
  record(sweepId: string, created: string, from: number, cells: readonly number[]): void {
    if (!cells.length) return;
    let log = this.sweeps.get(sweepId);
    if (!log || log.created !== created || log.entries[log.entries.length - 1].to !== from) {
      log = { created, entries: [], kept: 0 };
      this.sweeps.set(sweepId, log);
    }
    log.entries.push({ from, to: from + cells.length, cells: Uint32Array.from(cells).sort() });
    log.kept += cells.length;
    while (log.kept > KEEP_CELLS && log.entries.length > 1) log.kept -= log.entries.shift()!.cells.length;
  }

  /**
   * The cells added since the sweep had `from` done cells, now that it has `to` (ascending per ingest), or null where
   * this log does not hold that whole span: written by another process, dropped, or a sweep deleted and made again.
   */
  since(sweepId: string, created: string, from: number, to: number): Uint32Array | null {
    if (from === to) return new Uint32Array(0);
    const log = this.sweeps.get(sweepId);
    if (!log || log.created !== created || log.entries[log.entries.length - 1].to !== to) return null;
    const first = log.entries.findIndex((e) => e.from === from);
    if (first < 0) return null;
    const later = log.entries.slice(first);
    const out = new Uint32Array(to - from);
    let k = 0;
    for (const e of later) { out.set(e.cells, k); k += e.cells.length; }
    return out;
  }

  forget(sweepId: string): void {
    this.sweeps.delete(sweepId);
  }
}
