// Slice: the notice toasts and each running sweep's last progress report (rate, ETA).

import type { ApiEvent } from "../../src-shared/contract";
import { addNotice, type Notice, type NoticeLevel, NOTICE_TTL_MS } from "../sweep-control";
import { useUi } from "./ui-store";

export type Progress = Extract<ApiEvent, { type: "progress" }>;

export interface NoticesSlice {
  progress: Record<string, Progress>;
  /** Toasts, newest first (sweep-control.ts addNotice). */
  notices: Notice[];
}

let noticeSeq = 0;

/** Show a toast; info and done ones dismiss themselves after NOTICE_TTL_MS, errors stay until dismissed. */
export function pushNotice(message: string, level: NoticeLevel = "info", sweepId: string | null = null): void {
  const n: Notice = { id: ++noticeSeq, level, message, sweepId };
  useUi.setState((st) => ({ notices: addNotice(st.notices, n) }));
  if (level !== "error") setTimeout(() => dismissNotice(n.id), NOTICE_TTL_MS);
}

export function dismissNotice(id: number): void {
  if (useUi.getState().notices.some((n) => n.id === id)) useUi.setState((st) => ({ notices: st.notices.filter((n) => n.id !== id) }));
}
