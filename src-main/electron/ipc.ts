// The Api (src-shared/contract.ts) over Electron IPC: one `ipcMain.handle` channel per request method, built
// from API_METHODS, and the renderer-side bridge the preload script exposes as `window.fractalApi`.
//
// Everything here takes the few Electron objects it uses as parameters (IpcMainLike, IpcRendererLike), so it
// never imports `electron` and tests can hand it a thin fake. Every handler checks, before touching the
// service, that the call comes from the app's own page (senderFrame) and that its arguments have the types the
// contract names; a refusal comes back as { error } and the bridge throws it as an ApiError with the message
// intact (Electron would otherwise wrap a thrown error's message in "Error invoking remote method ...").

import { type Api, type ApiEvent, ApiError, type ApiMethod, API_METHODS } from "../../src-shared/contract";
import { ArgError, checkArgs } from "../api/validate";

/** The app's pages are served from this origin by a privileged custom scheme (main.ts). */
export const APP_SCHEME = "app";
export const APP_HOST = "fractal";
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export const channelOf = (method: ApiMethod) => `fractal-api:${method}`;
/** Main -> renderer: every ApiEvent of the service. */
export const EVENT_CHANNEL = "fractal-api:event";

/** What a handler resolves to: exactly one of the two. */
export type IpcReply = { result: unknown } | { error: string };

// ---------------------------------------------------------------------------------------------- main side

/** The part of an IpcMainInvokeEvent the handlers read. */
export interface IpcInvokeEventLike {
  senderFrame: { url: string } | null;
}

/** The part of Electron's ipcMain the handler table needs. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<IpcReply>): void;
  removeHandler(channel: string): void;
}

/** Is `url` a page of this app (app://fractal/...)? Anything else — file://, http(s)://, a subframe of a foreign origin — is refused. */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
}

/**
 * Register one handler per API method on `ipcMain`. `isTrusted` decides from the sender frame's URL whether a
 * call may proceed (default: the app's own origin only). Returns a function that removes them again.
 */
export function registerApiHandlers(ipcMain: IpcMainLike, api: Api, isTrusted: (url: string | null) => boolean = isAppUrl): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(channelOf(method), async (event, ...args) => {
      const url = event?.senderFrame?.url ?? null;
      if (!isTrusted(url)) return { error: `${method} refused: the caller (${url ?? "no frame"}) is not a page of this app` };
      let params: unknown[];
      try {
        params = checkArgs(method, args);
      } catch (e) {
        if (e instanceof ArgError) return { error: `${method}: bad arguments: ${e.message}` };
        throw e;
      }
      try {
        const fn = api[method] as (...p: unknown[]) => Promise<unknown>;
        return { result: await fn.apply(api, params) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    });
  }
  return () => { for (const method of API_METHODS) ipcMain.removeHandler(channelOf(method)); };
}

// ------------------------------------------------------------------------------------------ renderer side

/** The part of Electron's ipcRenderer the bridge needs (available in a sandboxed preload). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/**
 * The Api the preload script exposes: each request method invokes its channel and unwraps the reply; subscribe
 * listens to the event channel. Only plain functions cross the context bridge, never ipcRenderer itself.
 */
export function makeBridge(ipc: IpcRendererLike): Api {
  const call = (method: ApiMethod) => async (...args: unknown[]) => {
    const reply = (await ipc.invoke(channelOf(method), ...args)) as IpcReply;
    if ("error" in reply) throw new ApiError(reply.error);
    return reply.result;
  };
  const requests = Object.fromEntries(API_METHODS.map((m) => [m, call(m)])) as unknown as Omit<Api, "subscribe">;
  return {
    ...requests,
    subscribe(listener: (e: ApiEvent) => void) {
      const onEvent = (_event: unknown, e: unknown) => listener(e as ApiEvent);
      ipc.on(EVENT_CHANNEL, onEvent);
      return () => { ipc.removeListener(EVENT_CHANNEL, onEvent); };
    },
  };
}
