// The Api over browser mode's WebSocket (src-main/web/server.ts). The desktop shell provides the same Api
// through its preload bridge; the UI only ever sees `Api`.

import type { Api, ApiEvent } from "../src-shared/contract";
import { API_METHODS, ApiError } from "../src-shared/api";
import { decodeMessage, encodeMessage } from "../src-shared/wire";

export interface Connection { api: Api; closed: Promise<{ code: number; reason: string }> }

export function connectWebSocket(url: string): Promise<Connection> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: ApiEvent) => void>();
  let nextId = 1;
  const closed = new Promise<{ code: number; reason: string }>((res) => {
    ws.addEventListener("close", (e) => {
      for (const p of pending.values()) p.reject(new ApiError(`connection closed (${e.code}${e.reason ? `: ${e.reason}` : ""})`));
      pending.clear();
      res({ code: e.code, reason: e.reason });
    });
  });
  ws.addEventListener("message", (e) => {
    const msg = decodeMessage(e.data as ArrayBuffer) as { id?: number; result?: unknown; error?: string; event?: ApiEvent };
    if (msg.event) { for (const l of listeners) l(msg.event); return; }
    const p = pending.get(msg.id!);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error !== undefined) p.reject(new ApiError(msg.error));
    else p.resolve(msg.result);
  });
  const call = (method: string, params: unknown[]) => new Promise((resolve, reject) => {
    if (ws.readyState !== WebSocket.OPEN) { reject(new ApiError("not connected to the fractal-llm server")); return; }
    const id = nextId++;
    pending.set(id, { resolve, reject });
    ws.send(encodeMessage({ id, method, params }));
  });
  const api = Object.fromEntries(API_METHODS.map((m) => [m, (...params: unknown[]) => call(m, params)])) as unknown as Api;
  api.subscribe = (l) => { listeners.add(l); return () => listeners.delete(l); };
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve({ api, closed }), { once: true });
    closed.then((c) => reject(new ApiError(c.reason || `could not connect (code ${c.code})`)));
  });
}
