// The keys everyone expects of a map viewer: `?` shows the keyboard and mouse help, Escape closes what is open (that
// help, the zoom-scan dialog, a half-drawn zoom box). The map's own navigation keys are in MapView.tsx.

import { useEffect, useState } from "react";
import { useUi } from "../state";

/** The map's keys and gestures, as MapView.tsx implements them. */
export const MAP_KEYS: readonly [string, string][] = [
  ["wheel, + / −", "zoom in / out (the wheel about the cursor)"],
  ["drag, arrows, W A S D", "pan"],
  ["click", "inspect a cell (it is outlined on the map)"],
  ["double-click, shift+double-click", "zoom in / out 2× about the cell"],
  ["p", "autopilot: dive toward the boundary nearest the centre (any key or click stops it)"],
  ["shift-drag", "draw a box for a zoom scan at higher resolution"],
  ["0", "home: the whole map"],
  ["[ ]  or  Alt+← Alt+→", "back / forward through the views"],
  ["Escape", "close a dialog or this help"],
  ["?", "show or hide this help"],
];

/** Whether a key typed at `t` belongs to a text field (it types there, it is not a command). */
function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el?.closest) return false;
  return !!el.closest("textarea, select, [contenteditable=true]")
    || (el.matches("input") && !["checkbox", "radio", "button"].includes((el as HTMLInputElement).type));
}

export function KeyHelp() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        // Innermost first: the help over everything, then the dialog, then a box being drawn.
        const st = useUi.getState();
        if (open) setOpen(false);
        else if (st.zoomDialog) useUi.setState({ zoomDialog: null });
        else if (st.box) useUi.setState({ box: null });
        else return;
        e.preventDefault();
      } else if (e.key === "?" && !typing(e.target) && !e.ctrlKey && !e.metaKey && !e.altKey) {
        setOpen(!open);
        e.preventDefault();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);
  if (!open) return null;
  return (
    <div className="dialog-backdrop" onClick={() => setOpen(false)}>
      <div className="dialog key-help" role="dialog" aria-label="keyboard and mouse" data-testid="key-help" onClick={(e) => e.stopPropagation()}>
        <h3>keyboard and mouse</h3>
        <table><tbody>
          {MAP_KEYS.map(([k, what]) => <tr key={k}><td><kbd>{k}</kbd></td><td>{what}</td></tr>)}
        </tbody></table>
        <div className="buttons"><button data-testid="key-help-close" onClick={() => setOpen(false)}>close</button></div>
      </div>
    </div>
  );
}
