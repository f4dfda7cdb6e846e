// The autopilot (the `p` key, the HUD's button): a smooth dive toward the boundary nearest the centre of the view,
// re-aimed as finer scans come into view, until the finest scan's cells are large on screen, the boundary leaves
// the view, or the user touches anything (a key, the mouse button, the wheel). Its maths is dive.ts.

import { DIVE_CELL_PX, diveStep, nearestBoundary, outcomeClass } from "../dive";
import { visibleWindow } from "../view";
import { layerOf, layerValueAt } from "./layer-cache";
import { commitView, setView } from "./navigation";
import { pushNotice } from "./notices";
import { sweepCellAt } from "./selection";
import { useUi } from "./ui-store";

const get = useUi.getState;

/** The target is sought again every this many frames (the search samples ~9K points of the view). */
const RETARGET_FRAMES = 6;

/** Which side of the boundary the map shows at world point (x, y): the topmost drawn sweep with data there. */
function classifyAt(x: number, y: number): 0 | 1 | null {
  const hit = sweepCellAt(x, y);
  if (!hit) return null;
  const layer = layerOf(hit.sweep.id);
  if (!layer) return null;
  const s = hit.sweep;
  return outcomeClass(layer.kind, layerValueAt(layer, hit.cell % s.nx, Math.floor(hit.cell / s.nx)));
}

let frame = 0;
let stopListeners: (() => void) | null = null;

export function stopAutopilot(why?: string): void {
  if (!get().diving) return;
  cancelAnimationFrame(frame);
  stopListeners?.();
  stopListeners = null;
  useUi.setState({ diving: false });
  commitView();
  if (why) pushNotice(`autopilot stopped: ${why}`, "info");
}

export function toggleAutopilot(): void {
  if (get().diving) { stopAutopilot(); return; }
  const st = get();
  if (!st.view || st.mode !== "map") return;
  const start = nearestBoundary(visibleWindow(st.view, st.viewport), classifyAt);
  if (!start) { pushNotice("autopilot: no boundary between trainable and diverged cells in view; zoom out (0) and try again", "info"); return; }
  useUi.setState({ diving: true });
  // Anything the user does takes the controls back (the toggle key itself is handled by the map's keys).
  const take = (e: Event) => {
    const own = e instanceof KeyboardEvent ? e.key === "p" || e.key === "P" : !!(e.target as Element | null)?.closest?.("[data-testid=autopilot]");
    if (!own) stopAutopilot();
  };
  window.addEventListener("keydown", take, true);
  window.addEventListener("pointerdown", take, true);
  window.addEventListener("wheel", take, true);
  stopListeners = () => {
    window.removeEventListener("keydown", take, true);
    window.removeEventListener("pointerdown", take, true);
    window.removeEventListener("wheel", take, true);
  };
  let target = start, n = 0, last = performance.now();
  const tick = (now: number) => {
    const { view, viewport, diving } = get();
    if (!diving || !view) return;
    const dt = Math.min(0.1, (now - last) / 1000);
    last = now;
    if (++n % RETARGET_FRAMES === 0) {
      const t = nearestBoundary(visibleWindow(view, viewport), classifyAt);
      if (!t) { stopAutopilot("the boundary left the view"); return; }
      target = t;
    }
    const hit = sweepCellAt(view.cx, view.cy);
    if (hit && (hit.sweep.window.x1 - hit.sweep.window.x0) / hit.sweep.nx / view.sx >= DIVE_CELL_PX) {
      stopAutopilot(`the finest scan here (${hit.sweep.nx}×${hit.sweep.ny}) is reached; shift-drag a box to scan deeper`);
      return;
    }
    setView(diveStep(view, viewport, target, dt));
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
}
