// The service's worker thread: the work that would hold the server's event loop for seconds on a large map
// (the paper's rank colouring of a full layer, the analysis panel's numbers), so WebSocket requests, layer
// deltas and change events keep flowing meanwhile. Messages: {id, kind, ...}; replies {id, result} | {id, error}.

import { parentPort } from "node:worker_threads";
import { openStore, type Store } from "../core/store";
import type { Numeric } from "../core/tiles";
import { sweepAnalysis } from "./analysis";
import type { AnalysisOptions } from "../../src-shared/contract";
import { rankLayerWithReference } from "./layers";

export type OffloadRequest =
  | { id: number; kind: "rank"; score: Numeric; done: Uint8Array }
  | { id: number; kind: "analysis"; dbPath: string; sweepId: string; options: AnalysisOptions };

const stores = new Map<string, Store>();

function store(path: string): Store {
  let s = stores.get(path);
  if (!s) { s = openStore(path); stores.set(path, s); }
  return s;
}

parentPort!.on("message", (m: OffloadRequest) => {
  try {
    if (m.kind === "rank") {
      const { values, ref } = rankLayerWithReference(m.score, m.done);
      parentPort!.postMessage({ id: m.id, result: { values, sorted: ref.sorted, nNeg: ref.nNeg } }, [values.buffer as ArrayBuffer, ref.sorted.buffer as ArrayBuffer]);
    } else {
      parentPort!.postMessage({ id: m.id, result: sweepAnalysis(store(m.dbPath), m.sweepId, m.options) });
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
