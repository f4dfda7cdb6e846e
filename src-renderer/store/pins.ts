// Slice: curves pinned in the inspector, so several cells' loss and grad-norm curves can be overlaid and compared.

import type { CellDetail } from "../../src-shared/contract";
import { useUi } from "./ui-store";

export interface PinnedCurve { key: string; label: string; curve: NonNullable<CellDetail["curve"]> }

export interface PinsSlice {
  /** Oldest first; at most MAX_PINS. */
  pinned: PinnedCurve[];
}

/** More overlaid curves than this stop being readable in a 260 px plot. */
export const MAX_PINS = 6;

/** Pin (or, if pinned, unpin) a cell's curves; the oldest pin goes once there are MAX_PINS. */
export function togglePin(p: PinnedCurve): void {
  const { pinned } = useUi.getState();
  if (pinned.some((q) => q.key === p.key)) useUi.setState({ pinned: pinned.filter((q) => q.key !== p.key) });
  else useUi.setState({ pinned: [...pinned, p].slice(-MAX_PINS) });
}

export function clearPins(): void {
  useUi.setState({ pinned: [] });
}
