// Files and early warning from the analysis panel: the focused sweep's map as CSV / JSON / PNG and its report as HTML /
// Markdown (api.exportSweep, the same bytes as `fractal-llm export` and `report`), handed to the browser as a
// download (Electron saves it the same way), and the early-warning check of its curves (api.getEarlyWarning).

import { create } from "zustand";
import type { EarlyWarningReport, ExportRequest } from "../src-shared/contract";
import { useUi } from "./state";

export interface ExportsState {
  /** What the last export did, in words: "downloaded tanh-1a2b3c4d.csv (256 cells, 9.1 kB)", or its error. */
  message: string | null;
  error: boolean;
  busy: boolean;
  warning: EarlyWarningReport | null;
  warningError: string | null;
}

export const useExports = create<ExportsState>(() => ({ message: null, error: false, busy: false, warning: null, warningError: null }));

/** Hand bytes to the browser as a file download under `name`. */
function download(name: string, mime: string, data: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart], { type: mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // after the browser has read it
}

const size = (n: number) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} kB` : `${(n / (1 << 20)).toFixed(1)} MB`);

export async function exportFocused(req: ExportRequest): Promise<void> {
  const { api, focusId } = useUi.getState();
  if (!api || !focusId) return;
  useExports.setState({ busy: true });
  try {
    const f = await api.exportSweep(focusId, req);
    download(f.name, f.mime, f.data);
    useExports.setState({ message: `downloaded ${f.name} (${f.cells === null ? "" : `${f.cells} cells, `}${size(f.data.length)}) to the browser's download folder`, error: false });
  } catch (e) {
    useExports.setState({ message: `could not export: ${(e as Error).message}`, error: true });
  } finally {
    useExports.setState({ busy: false });
  }
}

export async function checkEarlyWarning(layer: "trainable" | "stable"): Promise<void> {
  const { api, focusId } = useUi.getState();
  if (!api || !focusId) return;
  try {
    useExports.setState({ warning: await api.getEarlyWarning(focusId, { layer }), warningError: null });
  } catch (e) {
    useExports.setState({ warning: null, warningError: (e as Error).message });
  }
}
