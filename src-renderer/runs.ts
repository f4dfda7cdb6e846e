// The runs table's rows, pure: every sweep in its zoom tree (zooms under their parent, at their depth), sorted within
// siblings by a column, filtered by a query that keeps the ancestors of every match, with its duration and rate.

import type { SweepSummary } from "../src-shared/contract";
import { ACTIVE } from "./sweep-control";

export type RunColumn = "name" | "cells" | "status" | "target" | "started" | "duration" | "rate" | "x" | "y";

export interface RunRow {
  s: SweepSummary;
  depth: number;
  /** Seconds from being recorded to its last update (to now while it runs); null where the dates do not parse. */
  seconds: number | null;
  /** Done cells per second of that time, or null. */
  rate: number | null;
  /** Whether the row matched the query itself (false: shown only as the ancestor of a match). */
  matched: boolean;
}

export function duration(s: SweepSummary, now: number): number | null {
  const a = Date.parse(s.createdAt), b = ACTIVE.includes(s.status) ? now : Date.parse(s.updatedAt);
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, (b - a) / 1000) : null;
}

/** What a query is matched against: name, id, tags, target, status and both axes' parameters. */
export function searchText(s: SweepSummary): string {
  return `${s.name} ${s.id} ${s.tags.join(" ")} ${s.target} ${s.status} ${s.xAxis.param} ${s.yAxis.param}`.toLowerCase();
}

function sortKey(r: RunRow, c: RunColumn): number | string {
  switch (c) {
    case "name": return r.s.name.toLowerCase();
    case "cells": return r.s.cells;
    case "status": return r.s.status;
    case "target": return r.s.target;
    case "started": return r.s.createdAt;
    case "duration": return r.seconds ?? -1;
    case "rate": return r.rate ?? -1;
    case "x": return `${r.s.xAxis.param} ${r.s.window.x0}`;
    case "y": return `${r.s.yAxis.param} ${r.s.window.y0}`;
  }
}

/**
 * The rows in tree order: roots sorted by `sort` (descending when `desc`), each followed by its zooms, sorted the same
 * way among themselves. Every word of `query` must appear in a row's searchText for it to match; a row is shown when
 * it or one of its descendants matches.
 */
export function runRows(sweeps: Record<string, SweepSummary>, sort: RunColumn, desc: boolean, query: string, now = Date.now()): RunRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const children = new Map<string | null, SweepSummary[]>();
  for (const s of Object.values(sweeps)) {
    const parent = s.parentId && sweeps[s.parentId] ? s.parentId : null; // a zoom whose parent is gone is a root here
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const row = (s: SweepSummary, depth: number): RunRow => {
    const seconds = duration(s, now);
    return { s, depth, seconds, rate: seconds ? s.doneCells / seconds : null, matched: words.every((w) => searchText(s).includes(w)) };
  };
  const cmp = (a: RunRow, b: RunRow) => {
    const ka = sortKey(a, sort), kb = sortKey(b, sort);
    const c = ka < kb ? -1 : ka > kb ? 1 : 0;
    return (desc ? -c : c) || a.s.id.localeCompare(b.s.id); // ties in a stable order, whichever way
  };
  const walk = (parent: string | null, depth: number): RunRow[] => {
    const level = (children.get(parent) ?? []).map((s) => row(s, depth)).sort(cmp);
    return level.flatMap((r) => {
      const below = walk(r.s.id, depth + 1);
      return r.matched || below.length ? [r, ...below] : [];
    });
  };
  return walk(null, 0);
}
