// Electron main process: a thin shell around the same ApiService that browser mode serves. It owns one
// window showing the built UI (dist/renderer) from the privileged app://fractal origin, and carries the Api
// over IPC (ipc.ts). The core never imports electron; this file gets it through require, typed by the
// interfaces below, so it also compiles where the optional electron package is absent.
//
// Security: contextIsolation + sandbox, no node integration, a strict CSP on every response, navigation,
// new windows, webviews and permission requests denied, and every IPC call checked for its sender frame and
// arguments. Bundled to dist/electron/main.mjs by scripts/build-electron.mjs.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, join, normalize, sep } from "node:path";
import { ApiService } from "../api/service";
import { REPO_ROOT } from "../core/local-transport";
import { appDataDir, defaultDbPath, userHostsPath } from "../core/paths";
import { INTERACTIVE_STORE, openStore } from "../core/store";
import { CSP } from "./csp";
import { seedDemoIfEmpty } from "../core/demo";
import { APP_HOST, APP_ORIGIN, APP_SCHEME, EVENT_CHANNEL, type IpcMainLike, registerApiHandlers } from "./ipc";
import { DEFAULT_SIZE, loadWindowState, type Rect, saveWindowState } from "./window-state";

/** Printed on stdout once the window has loaded: scripts/start.mjs waits for it before trusting Electron. */
export const READY_LINE = "fractal-llm: desktop window open";


// ------------------------------------------------------------------------- the parts of electron we use

interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  on(event: string, fn: (...a: any[]) => void): void;
  once(event: string, fn: (...a: any[]) => void): void;
  setWindowOpenHandler(fn: (d: { url: string }) => { action: "deny" }): void;
}
interface BrowserWindowLike {
  webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  on(event: string, fn: (...a: any[]) => void): void;
  once(event: string, fn: (...a: any[]) => void): void;
  show(): void; focus(): void; restore(): void; maximize(): void;
  isMinimized(): boolean; isMaximized(): boolean; isDestroyed(): boolean;
  getNormalBounds(): Rect;
}
interface ElectronMain {
  app: {
    isPackaged: boolean;
    whenReady(): Promise<void>;
    requestSingleInstanceLock(): boolean;
    quit(): void;
    on(event: string, fn: (...a: any[]) => void): void;
    setName(name: string): void;
  };
  BrowserWindow: new (opts: Record<string, unknown>) => BrowserWindowLike;
  ipcMain: IpcMainLike;
  Menu: { buildFromTemplate(t: unknown[]): unknown; setApplicationMenu(m: unknown): void };
  protocol: {
    registerSchemesAsPrivileged(s: { scheme: string; privileges: Record<string, boolean> }[]): void;
    handle(scheme: string, fn: (req: Request) => Response | Promise<Response>): void;
  };
  session: {
    defaultSession: {
      webRequest: { onHeadersReceived(fn: (d: { responseHeaders?: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void): void };
      setPermissionRequestHandler(fn: (wc: unknown, permission: string, cb: (ok: boolean) => void) => void): void;
    };
  };
  shell: { openExternal(url: string): Promise<void> };
  screen: { getAllDisplays(): { workArea: Rect }[] };
}

// ------------------------------------------------------------------------------------------- locations

/**
 * Shipped resources (demo.sqlite, tiny-gpt/, corpus/, icons): <resourcesPath>/resources in a packaged app (an
 * extraResource next to remote-agent/, where ssh/install.ts's upward search finds both), else the repo's.
 */
export function resourcesDir(packaged: boolean, resourcesPath = (process as { resourcesPath?: string }).resourcesPath): string {
  return packaged ? join(resourcesPath!, "resources") : join(REPO_ROOT, "resources");
}

/** dist/renderer inside the app (app.asar in a package: Electron's fs reads from it). */
const RENDERER = join(REPO_ROOT, "dist", "renderer");

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json", ".woff2": "font/woff2", ".wasm": "application/wasm",
};

/** app://fractal/<path> -> a file under dist/renderer, with the CSP header; anything else is 404. */
function serveRenderer(req: Request): Response {
  const u = new URL(req.url);
  const path = decodeURIComponent(u.pathname);
  const file = normalize(join(RENDERER, path === "/" ? "index.html" : path));
  if (u.host !== APP_HOST || !file.startsWith(RENDERER + sep) || !existsSync(file)) {
    return new Response(`not found: ${path}`, { status: 404, headers: { "content-type": "text/plain" } });
  }
  return new Response(readFileSync(file), {
    headers: { "content-type": MIME[extname(file)] ?? "application/octet-stream", "content-security-policy": CSP },
  });
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

// -------------------------------------------------------------------------------------------------- menu

function menuTemplate(isMac: boolean): unknown[] {
  return [
    ...(isMac ? [{ role: "appMenu" }] : []),
    { label: "File", submenu: [isMac ? { role: "close" } : { role: "quit" }] },
    { role: "editMenu" }, // undo/redo, cut/copy/paste, select all: the usual shortcuts in text fields
    {
      label: "View",
      submenu: [
        { role: "reload" }, { role: "forceReload" }, { role: "toggleDevTools" }, { type: "separator" },
        { role: "resetZoom" }, { role: "zoomIn" }, { role: "zoomOut" }, { type: "separator" }, { role: "togglefullscreen" },
      ],
    },
    { role: "windowMenu" },
    { role: "help", submenu: [{ role: "about" }] },
  ];
}

// -------------------------------------------------------------------------------------------------- main

async function main(electron: ElectronMain): Promise<void> {
  const { app, BrowserWindow, Menu, protocol, session, shell, screen } = electron;
  app.setName("Fractal LLM Explorer");
  if (!app.requestSingleInstanceLock()) {
    process.stdout.write("fractal-llm: already open; focusing that window\n");
    app.quit();
    return;
  }
  // Must precede `ready`: a standard, secure scheme gives the pages a real origin ('self' in the CSP).
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

  // Every webContents (the window, and any the page might try to create): no navigation, no new windows, no
  // webviews. Links to the web open in the system browser.
  app.on("web-contents-created", (_e: unknown, wc: WebContentsLike) => {
    wc.on("will-navigate", (e: { preventDefault(): void }) => e.preventDefault());
    wc.on("will-redirect", (e: { preventDefault(): void }) => e.preventDefault());
    wc.on("will-attach-webview", (e: { preventDefault(): void }) => e.preventDefault());
    wc.setWindowOpenHandler(({ url }) => {
      if (/^https:\/\//.test(url)) void shell.openExternal(url);
      return { action: "deny" };
    });
  });

  await app.whenReady();
  // Python cannot import the agent from inside app.asar: a packaged app runs local sweeps from the unpacked
  // extraResource (electron-builder.yml ships remote-agent/ beside resources/).
  if (app.isPackaged) process.env.FRACTAL_AGENT_DIR ??= join((process as { resourcesPath?: string }).resourcesPath!, "remote-agent");

  const dbPath = argValue(process.argv, "--db") ?? defaultDbPath();
  const seeded = seedDemoIfEmpty(dbPath, join(resourcesDir(app.isPackaged), "demo.sqlite"));
  if (seeded) process.stdout.write(`fractal-llm: no sweeps yet in ${dbPath}; added the ${seeded} demo sweeps\n`);
  const store = openStore(dbPath, { ...INTERACTIVE_STORE, hostsPath: userHostsPath() });
  const service = new ApiService(store);
  service.reattach(); // unfinished sweeps in the store: follow them again (their agents kept training)
  void service.prefetchFirstFrame(); // while the window loads the page

  protocol.handle(APP_SCHEME, serveRenderer);
  session.defaultSession.webRequest.onHeadersReceived((d, cb) => {
    cb({ responseHeaders: { ...(d.responseHeaders ?? {}), "Content-Security-Policy": [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
  registerApiHandlers(electron.ipcMain, service);
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(process.platform === "darwin")));

  const stateFile = join(appDataDir(), "window-state.json");
  const saved = loadWindowState(stateFile, screen.getAllDisplays().map((d) => d.workArea));
  const win = new BrowserWindow({
    ...(saved ? saved.bounds : DEFAULT_SIZE),
    minWidth: 480, minHeight: 360, show: false, title: "Fractal LLM Explorer", backgroundColor: "#111111",
    icon: join(resourcesDir(app.isPackaged), "icon.png"),
    webPreferences: {
      preload: join(REPO_ROOT, "dist", "electron", "preload.cjs"),
      contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false,
      webviewTag: false, webSecurity: true, allowRunningInsecureContent: false, spellcheck: false,
    },
  });
  if (saved?.maximized) win.maximize();
  const save = () => { if (!win.isDestroyed()) saveWindowState(stateFile, { bounds: win.getNormalBounds(), maximized: win.isMaximized() }); };
  win.on("close", save);
  win.once("ready-to-show", () => win.show());
  win.webContents.once("did-finish-load", () => process.stdout.write(READY_LINE + "\n"));

  const unsubscribe = service.subscribe((e) => { if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, e); });
  app.on("second-instance", () => {
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on("window-all-closed", () => {
    unsubscribe();
    service.close();
    // Followers stop first (the agents keep training; the next start re-attaches), then the store closes.
    void service.idle().then(() => { store.close(); app.quit(); });
  });
  await win.loadURL(`${APP_ORIGIN}/index.html`);
}

if (!process.versions.electron) throw new Error("dist/electron/main.mjs runs inside Electron; start the app with `npm start`");
main(createRequire(import.meta.url)("electron") as ElectronMain).catch((e: Error) => {
  process.stderr.write(`fractal-llm: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
