// Preload (sandboxed, context-isolated): exposes the typed Api as `window.fractalApi` and nothing else. The page
// never sees ipcRenderer; each method reaches only its own channel, whose handler in the main process checks
// the caller and the arguments (ipc.ts). Bundled to one CommonJS file by scripts/build-electron.mjs, because a
// sandboxed preload can require only `electron` and a few builtins. `electron` is loaded with require and typed
// by the interfaces in ipc.ts, so this compiles where the optional electron package is not installed.
import { type IpcRendererLike, makeBridge } from "./ipc";

const { contextBridge, ipcRenderer } = require("electron") as {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: IpcRendererLike;
};

contextBridge.exposeInMainWorld("fractalApi", makeBridge(ipcRenderer));
