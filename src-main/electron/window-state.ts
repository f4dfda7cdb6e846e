// The main window's size and position, remembered across launches in <app data>/window-state.json.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface Rect { x: number; y: number; width: number; height: number }
export interface WindowState { bounds: Rect; maximized: boolean }

export const DEFAULT_SIZE = { width: 1400, height: 900 };
const MIN = { width: 480, height: 360 };

/**
 * The saved state if the file holds a valid one whose window still overlaps a display by at least 64x64 px
 * (a monitor may have gone away since); else null and the window opens centred at the default size.
 * A corrupt file is ignored, not fatal: it is overwritten at the next close.
 */
export function loadWindowState(file: string, workAreas: Rect[]): WindowState | null {
  if (!existsSync(file)) return null;
  let s: unknown;
  try {
    s = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  const o = s as Partial<WindowState>;
  const b = o?.bounds;
  const ok = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  if (!b || ![b.x, b.y, b.width, b.height].every(ok) || typeof o.maximized !== "boolean") return null;
  if (b.width < MIN.width || b.height < MIN.height) return null;
  const visible = workAreas.some((a) =>
    Math.min(b.x + b.width, a.x + a.width) - Math.max(b.x, a.x) >= 64 && Math.min(b.y + b.height, a.y + a.height) - Math.max(b.y, a.y) >= 64);
  return visible ? { bounds: { x: b.x, y: b.y, width: b.width, height: b.height }, maximized: o.maximized } : null;
}

/** Written under a temporary name and renamed, so a crash mid-write leaves the previous state. */
export function saveWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file + ".tmp", JSON.stringify(state) + "\n");
  renameSync(file + ".tmp", file);
}
