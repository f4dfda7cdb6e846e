// Browser mode: serves the built UI (dist/renderer) and the Api over a WebSocket, on 127.0.0.1 only.
//
// The API socket is guarded by a random token that appears only in the printed URL (?token=...): a client
// without it is accepted just long enough to be told why, then closed with code 4401. The page moves the token
// from its address bar into sessionStorage (src-renderer/main.tsx), and the browser is opened on a private
// launcher file (0600) that redirects to the URL, so the token is in no process's argv. The static files are
// the public UI bundle and carry no data. Host headers other than 127.0.0.1 / localhost are refused, so a
// web page cannot reach the server through DNS rebinding, and a WebSocket whose Origin is another site is
// refused (a browser always sends Origin; scripts that send none still need the token). Loading the page with the
// token also sets it as an HttpOnly, SameSite=Strict cookie for this port, so a view's link (?sweep=&view=) pasted
// into another tab of the same browser opens without the token; another browser, profile or program still needs it.

import { spawn } from "node:child_process";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import { REPO_ROOT } from "../core/local-transport";
import { userHostsPath } from "../core/paths";
import { INTERACTIVE_STORE, openStore } from "../core/store";
import { API_METHODS, type ApiMethod } from "../../src-shared/contract";
import { ApiService } from "../api/service";
import { ArgError, checkArgs } from "../api/validate";
import { decodeMessage, encodeMessage, type WireRequest } from "../api/wire";

export const RENDERER_DIR = join(REPO_ROOT, "dist", "renderer");
export const CLOSE_UNAUTHORISED = 4401;

export interface WebServerOptions {
  /** SQLite database to serve (created if missing). */
  dbPath: string;
  /** The user's saved hosts (default core/paths.ts userHostsPath). */
  hostsPath?: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Open the URL in the default browser. */
  open?: boolean;
  /** Python for local zoom sweeps (default: found as the CLI does). */
  python?: string;
  /** The host manager's home (.ssh/config, known_hosts, keys; default $HOME) and host-key trust list. */
  home?: string;
  trustFile?: string;
  /** ssh-agent socket (default $SSH_AUTH_SOCK); null: none. */
  agentSocket?: string | null;
  /** The local agent's home (default the per-user app-data directory). */
  localAgentHome?: string;
  /** Follow again the database's unfinished sweeps on start (default true: closing the app loses nothing). */
  reattach?: boolean;
}

export interface WebServer {
  /** http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  port: number;
  token: string;
  service: ApiService;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json", ".ico": "image/x-icon",
};

/** Build the UI with Vite into dist/renderer when it is not there (a clean checkout after `npm ci`). */
export async function ensureRendererBuilt(log: (s: string) => void = (s) => process.stderr.write(s + "\n")): Promise<void> {
  if (existsSync(join(RENDERER_DIR, "index.html"))) return;
  log(`building the UI into ${RENDERER_DIR} (first run; \`npm run build:ui\` does this ahead of time)`);
  await buildRenderer();
}

/** `vite build` of src-renderer into dist/renderer (what `npm run build:ui` runs). */
export async function buildRenderer(): Promise<void> {
  const vite = join(REPO_ROOT, "node_modules", "vite", "bin", "vite.js");
  const code = await new Promise<number | null>((res) => {
    // NODE_ENV=production whoever asks: under vitest it is "test", and vite would then bundle React's development
    // build (1.7x the size, slower), which browser mode would go on serving after the tests.
    const p = spawn(process.execPath, [vite, "build", "--logLevel", "warn"], {
      cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, NODE_ENV: "production" },
    });
    p.once("close", res);
  });
  if (code !== 0 || !existsSync(join(RENDERER_DIR, "index.html"))) {
    throw new Error(`building the UI failed (vite exited with ${code}); run \`npm run build:ui\` to see why`);
  }
}

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  await ensureRendererBuilt();
  const store = openStore(o.dbPath, { ...INTERACTIVE_STORE, hostsPath: o.hostsPath ?? userHostsPath() });
  const service = new ApiService(store, {
    python: o.python, home: o.home, trustFile: o.trustFile, agentSocket: o.agentSocket, localAgentHome: o.localAgentHome,
  });
  void service.prefetchFirstFrame(); // while the browser loads the page
  const token = randomBytes(18).toString("base64url");
  let port = o.port ?? 0;

  const hostOk = (req: IncomingMessage) => {
    const h = req.headers.host ?? "";
    return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
  };
  // Browsers send Origin on every WebSocket handshake: only pages of this server may open the API socket.
  const originOk = (req: IncomingMessage) => {
    const o = req.headers.origin;
    return o === undefined || o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;
  };
  const tokenOk = (given: string | null | undefined) => {
    if (!given) return false;
    const a = Buffer.from(given), b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  // The token also as an HttpOnly cookie, set when the page is loaded with it, so a link to a view pasted into another
  // tab of the same browser opens without the token in it. Cookies are per host, not per port: one name per port.
  // A page of another local server (127.0.0.1, another port) is same-site and its socket would carry the cookie; the
  // Origin check refuses it, and no script can read an HttpOnly cookie.
  const cookieName = () => `fractal-llm-token-${port}`;
  const cookieToken = (req: IncomingMessage) => parseCookies(req.headers.cookie)[cookieName()];

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!hostOk(req)) { res.writeHead(403).end("fractal-llm web answers only to 127.0.0.1 and localhost\n"); return; }
    const path = decodePath(parseUrl(req.url));
    if (path === null) { // e.g. GET /% or GET // : any page can send it
      res.writeHead(400, { "content-type": "text/plain" }).end("malformed URL\n");
      return;
    }
    const file = normalize(join(RENDERER_DIR, path === "/" ? "index.html" : path));
    if (!(file === RENDERER_DIR || file.startsWith(RENDERER_DIR + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}\n`);
      return;
    }
    const headers: Record<string, string> = { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" };
    const given = parseUrl(req.url)?.searchParams.get("token");
    if (path === "/" && tokenOk(given)) headers["set-cookie"] = `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 << 20 });
  // Nothing an upgrade request carries may end the process: the Host is checked before the URL is read, the URL
  // is parsed without throwing (`//` from `new WebSocket("ws://127.0.0.1:PORT//")` is no valid URL), and a socket
  // that errors (a reset mid-handshake) is only closed.
  http.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    if (!hostOk(req)) { socket.destroy(); return; }
    const url = parseUrl(req.url);
    if (url === null || url.pathname !== "/api") { socket.destroy(); return; }
    if (!originOk(req)) {
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n" +
        "the API socket answers only pages served by this server (Origin http://127.0.0.1 or localhost, this port)\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!tokenOk(url.searchParams.get("token")) && !tokenOk(cookieToken(req))) {
        ws.close(CLOSE_UNAUTHORISED, "missing or wrong token: open the URL that `fractal-llm web` printed");
        return;
      }
      serveClient(ws, service);
    });
  });

  try {
    await new Promise<void>((res, rej) => {
      http.once("error", rej);
      http.listen(port, "127.0.0.1", () => res());
    });
  } catch (e) {
    service.close();
    store.close();
    const busy = (e as NodeJS.ErrnoException).code === "EADDRINUSE";
    throw new Error(`cannot listen on 127.0.0.1:${port}: ${busy ? "the port is in use; pick another with --port, or 0 for any free port" : (e as Error).message}`);
  }
  port = (http.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  const launcher = o.open ? openInBrowser(url) : null;
  if (o.reattach ?? true) service.reattach();

  return {
    url, port, token, service,
    async close() {
      service.close();
      await service.idle(); // the followers stop before the store they write to closes
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((res) => wss.close(() => res()));
      await new Promise<void>((res) => http.close(() => res()));
      store.close();
      if (launcher) rmSync(launcher.dir, { recursive: true, force: true });
    },
  };
}

/** A request's URL, or null where it is none (`//`, `http://[`): requests come from any page. */
export function parseUrl(raw: string | undefined): URL | null {
  return URL.canParse(raw ?? "/", "http://x") ? new URL(raw ?? "/", "http://x") : null;
}

function decodePath(url: URL | null): string | null {
  if (url === null) return null;
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return null; // a lone % is no percent-encoding
  }
}

/** One authorised client: requests in, replies and events out, all as wire.ts binary frames. */
function serveClient(ws: WebSocket, service: ApiService): void {
  const send = (v: unknown) => { if (ws.readyState === ws.OPEN) ws.send(new Uint8Array(encodeMessage(v))); };
  const unsubscribe = service.subscribe((event) => send({ event }));
  ws.on("close", unsubscribe);
  // Each request in its own turn of the event loop, in arrival order: requests that came in one TCP read are
  // emitted back to back, and the first one's reply (the map's preview) would otherwise wait for the synchronous
  // store reads of every later one (the nested zooms' layers) before it is written.
  ws.on("message", (data: Buffer, isBinary: boolean) => { setImmediate(() => void handle(data, isBinary)); });
  // Nothing a message carries may throw out of here: a request is answered (result or error) or refused.
  async function handle(data: Buffer, isBinary: boolean): Promise<void> {
    let req: WireRequest;
    try {
      req = (isBinary ? decodeMessage(data) : JSON.parse(data.toString())) as WireRequest;
    } catch (e) {
      send({ id: -1, error: `malformed request: ${(e as Error).message}` });
      return;
    }
    if (typeof req !== "object" || req === null || Array.isArray(req)) {
      send({ id: -1, error: `malformed request: expected {"id", "method", "params"}, got ${JSON.stringify(req)?.slice(0, 100)}` });
      return;
    }
    const id = typeof req.id === "number" || typeof req.id === "string" ? req.id : -1;
    if (!API_METHODS.includes(req.method as ApiMethod)) {
      send({ id, error: `unknown method ${JSON.stringify(req.method)}; methods: ${API_METHODS.join(", ")}` });
      return;
    }
    const method = req.method as ApiMethod;
    // Replies already sent leave the process first. A large one (the map's preview, 260 KB) goes to the socket in
    // parts as the socket drains, which needs this event loop: the synchronous store reads of the requests behind
    // it (the nested zooms' full layers) held its last part back by 1-2 s (scripts/bench-ui.ts).
    while (ws.bufferedAmount > 0 && ws.readyState === ws.OPEN) await new Promise((r) => setTimeout(r, 1));
    try {
      const params = checkArgs(method, req.params === undefined ? [] : Array.isArray(req.params) ? req.params : [req.params]);
      const fn = service[method] as (...a: unknown[]) => Promise<unknown>;
      send({ id, result: await fn.apply(service, params) });
    } catch (e) {
      send({ id, error: e instanceof ArgError ? `${method}: bad arguments: ${e.message}` : (e as Error).message });
    }
  }
}

/**
 * A launcher for the browser: an HTML file, readable by this user only, in a private temporary directory, that
 * sends the browser on to `url`. Opening the file instead of the URL keeps the token out of the opener's argv
 * (which every user of the machine can read in the process list).
 */
export function writeLauncher(url: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "fractal-llm-open-")); // mode 0700
  const file = join(dir, "open.html");
  const target = JSON.stringify(url).replace(/</g, "\\u003c");
  writeFileSync(file, `<!doctype html><meta charset="utf-8"><title>Fractal LLM Explorer</title>` +
    `<script>location.replace(${target})</script>`, { mode: 0o600 });
  return { dir, file };
}

/** The opener's command line for a launcher file (no token in it). */
export function openerCommand(file: string): { cmd: string; args: string[] } {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  return { cmd, args: [file] };
}

function openInBrowser(url: string): { dir: string; file: string } {
  const launcher = writeLauncher(url);
  const { cmd, args } = openerCommand(launcher.file);
  const p = spawn(cmd, args, { stdio: "ignore", detached: true });
  p.on("error", () => process.stderr.write(`could not start ${cmd}; open the URL printed above yourself\n`));
  p.unref();
  return launcher;
}

/** name -> value of a Cookie header (the last one wins; values are not URL-decoded: ours are base64url). */
function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
