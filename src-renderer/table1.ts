// The Table 1 view's logic without React: the report's rows (every experiment of the paper's table, each with the
// reproductions the store holds of it), and how their numbers read.

import type { Reproduction, SweepSummary, Window } from "../src-shared/contract";
import { TABLE1 } from "../src-shared/table1";
import { formatFixed } from "./ticks";

export interface Table1Row {
  name: string;
  title: string;
  paper: number;
  /** this experiment's reproductions, finest resolution first */
  runs: Reproduction[];
}

/** The project's method first, then the paper's on the same root. */
const methodOrder = (r: Reproduction) => (r.method === "paper" ? 1 : 0);

/** One row per experiment of Table 1, in the paper's order, with its reproductions (none: a row with only the paper's number). */
export function table1Rows(reproductions: readonly Reproduction[]): Table1Row[] {
  return TABLE1.map((e) => ({
    name: e.name, title: e.title, paper: e.paper,
    runs: reproductions.filter((r) => r.name === e.name)
      .sort((a, b) => b.points - a.points || a.target.localeCompare(b.target) || methodOrder(a) - methodOrder(b)),
  }));
}

/** A dimension to two decimals, as the paper gives them; "–" for none. */
export function formatDimension(d: number | null): string {
  return d === null ? "–" : d.toFixed(2);
}

/** The measured dimension's difference from the paper's, signed ("+0.12", "−0.05"); "–" for none. */
export function formatDifference(d: number | null): string {
  if (d === null) return "–";
  const s = Math.abs(d).toFixed(2);
  return s === "0.00" ? "0.00" : `${d > 0 ? "+" : "−"}${s}`;
}

/** What ran: "64² · root + 2 zooms · local", "64² · root + 3 keyframes · local" (and the init-offset form when it has one). */
export function runLabel(r: Reproduction): string {
  const form = r.initOffsetForm ? ` · offset ${r.initOffsetForm === "every_step" ? "every step" : "once"}` : "";
  if (r.method === "paper") {
    const k = Math.max(r.levels.filter((l) => l.kind === "keyframe").length, r.levelsRequested ?? 0);
    return `${r.points}² · root + ${k} keyframe${k === 1 ? "" : "s"} · ${r.target}${form}`;
  }
  const zooms = Math.max(r.levels.length, (r.levelsRequested ?? 0) + 1) - 1;
  return `${r.points}² · root + ${zooms} zoom${zooms === 1 ? "" : "s"} · ${r.target}${form}`;
}

/** A level's window in axis units, to the digits that tell nested windows apart. */
export function formatWindow(w: Window): string {
  const digits = Math.max(3, Math.ceil(-Math.log10(Math.max(w.x1 - w.x0, w.y1 - w.y0, 1e-300))) + 3);
  const f = (v: number) => Number(v.toPrecision(Math.min(17, digits))).toString();
  return `x ${f(w.x0)}…${f(w.x1)}, y ${f(w.y0)}…${f(w.y1)}`;
}

/** Cells done of a level: the live count of its sweep when the app has it (results stream in), else the report's. */
export function levelDone(level: Reproduction["levels"][number], live: SweepSummary | undefined): { done: number; cells: number; status: string } {
  return live ? { done: live.doneCells, cells: live.cells, status: live.status } : { done: level.doneCells, cells: level.cells, status: level.status };
}

/** The sweep a running reproduction trains now (what "stop" cancels): its last level not completed, if any. */
export function runningLevel(r: Reproduction, sweeps: Record<string, SweepSummary>): string | null {
  if (r.state !== "running") return null;
  const last = r.levels[r.levels.length - 1];
  return last && levelDone(last, sweeps[last.sweepId]).status !== "completed" ? last.sweepId : null;
}

/** A 95% interval to two decimals, as the dimensions: "[1.52, 1.80]"; "–" for none. */
export function formatCi(ci: [number, number] | null): string {
  return ci ? `[${formatFixed(ci[0], 2)}, ${formatFixed(ci[1], 2)}]` : "–";
}

/** The method in a word or two, for the method column (the estimator in full is its title). */
export function methodLabel(r: Reproduction): string {
  return r.method === "paper" ? "paper's" : "project's";
}

/** A level's name in the report: the root map, a zoom (project's method) or a keyframe (paper's method). */
export function levelLabel(l: Reproduction["levels"][number]): string {
  return l.kind === "root" ? "root map" : l.kind === "keyframe" ? `keyframe ${l.level - 1}` : `zoom ${l.level}`;
}
