// Browser-mode server over a real database: token, host check, static files, the API over the socket.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeMessage, encodeMessage } from "../../src-main/api/wire";
import { validate } from "../../src-shared/spec";
import { openStore } from "../../src-main/core/store";
import { openerCommand, startWebServer, writeLauncher, type WebServer } from "../../src-main/web/server";

let dir: string, server: WebServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fractal-web-"));
  const db = join(dir, "db.sqlite");
  const store = openStore(db);
  store.createSweep({
    id: "s1", target: "local", spec: validate({
      version: 1, name: "one", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: 4 }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: 4 } },
    }),
  });
  store.close();
  // reattach: false: the fixture sweep below is never meant to run (it would start a local agent).
  server = await startWebServer({ dbPath: db, port: 0, open: false, reattach: false });
}, 120_000);
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const r = request({ host: "127.0.0.1", port: server.port, path, headers: { host } }, (resp) => {
      let body = "";
      resp.on("data", (d) => (body += d));
      resp.on("end", () => res({ status: resp.statusCode!, body }));
    });
    r.on("error", rej);
    r.end();
  });
}

function call(ws: WebSocket, id: number, method: string, params: unknown[]): Promise<{ id: number; result?: unknown; error?: string }> {
  return new Promise((res) => {
    const on = (d: Buffer) => {
      const m = decodeMessage(d) as { id?: number };
      if (m.id === id) { ws.off("message", on); res(m as { id: number }); }
    };
    ws.on("message", on);
    ws.send(encodeMessage({ id, method, params }));
  });
}

describe("browser-mode server", () => {
  it("prints a 127.0.0.1 URL with a random token", () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{24}$`));
  });

  it("serves the UI, but not files outside it, and only to 127.0.0.1 / localhost", async () => {
    const index = await get("/", `127.0.0.1:${server.port}`);
    expect(index.status).toBe(200);
    expect(index.body).toContain('<div id="root">');
    expect((await get("/", `localhost:${server.port}`)).status).toBe(200);
    expect((await get("/../../package.json", `127.0.0.1:${server.port}`)).status).toBe(404);
    expect((await get("/%2e%2e/%2e%2e/package.json", `127.0.0.1:${server.port}`)).status).toBe(404);
    const rebound = await get("/", `evil.example:${server.port}`);
    expect(rebound.status).toBe(403);
  });

  it("answers API calls with the token and reports errors by message", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    await new Promise((r) => ws.once("open", r));
    const list = await call(ws, 1, "listSweeps", []);
    expect((list.result as { id: string }[]).map((s) => s.id)).toEqual(["s1"]);
    const layer = await call(ws, 2, "getLayer", ["s1", "trainable"]);
    expect((layer.result as { values: Float32Array }).values).toBeInstanceOf(Float32Array);
    expect((await call(ws, 3, "dropTables", [])).error).toMatch(/unknown method "dropTables"; methods: listSweeps/);
    expect((await call(ws, 4, "getSweep", ["nope"])).error).toMatch(/unknown sweep nope/);
    ws.close();
  });

  it("serves React's production build, even when the build ran under vitest (NODE_ENV=test)", async () => {
    // This file's UI was built by test/build-ui.ts inside vitest; browser mode serves it afterwards as it is.
    const index = await get("/", `127.0.0.1:${server.port}`);
    const script = /<script type="module" crossorigin src="\.\/(assets\/index-[^"]+\.js)"/.exec(index.body)![1];
    const bundle = await get(`/${script}`, `127.0.0.1:${server.port}`);
    expect(bundle.status).toBe(200);
    expect(bundle.body.includes("createRoot")).toBe(true);
    expect(bundle.body.includes('unique "key" prop'), "React's development build was served").toBe(false); // a dev-only warning
  });

  it("refuses a second server on the same port with a clear message", async () => {
    await expect(startWebServer({ dbPath: join(dir, "other.sqlite"), port: server.port })).rejects.toThrow(/port is in use/);
  });
});

/** Send raw bytes to the server and collect its answer (until it closes the socket or 2 s pass). */
function raw(bytes: string): Promise<string> {
  return new Promise((res, rej) => {
    const sock = connect(server.port, "127.0.0.1", () => sock.end(bytes));
    let out = "";
    sock.on("data", (d) => (out += d));
    sock.on("error", (e) => (out ? res(out) : rej(e)));
    sock.on("close", () => res(out));
    setTimeout(() => { sock.destroy(); res(out); }, 2000);
  });
}

async function stillServes(): Promise<void> {
  expect((await get("/", `127.0.0.1:${server.port}`)).status).toBe(200);
}

function openSocket(headers: Record<string, string> = {}, token = server.token): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${token}`, { headers });
  return new Promise((res, rej) => { ws.once("open", () => res(ws)); ws.once("error", rej); ws.once("unexpected-response", (_r, resp) => rej(new Error(`HTTP ${resp.statusCode}`))); });
}

describe("hostile input never crashes the server", () => {
  it("answers malformed HTTP with an error status and keeps serving", async () => {
    expect(await raw(`GET /% HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect((await get("/%E0%A4%A", `127.0.0.1:${server.port}`)).status).toBe(400);
    await stillServes();
    // Headers far over Node's limit (16 KiB): 431, not a crash.
    expect(await raw(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Big: ${"a".repeat(200_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect(await raw("NONSENSE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it("survives a WebSocket upgrade to a URL that is none (any page can send one while scanning ports)", async () => {
    const upgrade = (path: string, host: string, origin = "http://evil.example") =>
      raw(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    const here = `127.0.0.1:${server.port}`;
    for (const path of ["//", "//api", "http://[", "/%", "//x:99999/api"]) {
      for (const host of [here, "evil.example", ""]) {
        expect(await upgrade(path, host)).not.toMatch(/101 Switching/);
        expect(await upgrade(path, host, `http://${here}`)).not.toMatch(/101 Switching/);
      }
    }
    await stillServes();
    const ws = await openSocket();
    expect((await call(ws, 1, "listSweeps", [])).result).toHaveLength(1);
    ws.close();
  });

  it("answers every malformed WebSocket message with an error reply and keeps the socket", async () => {
    const ws = await openSocket();
    const replies: { id?: unknown; error?: string }[] = [];
    ws.on("message", (d: Buffer) => replies.push(decodeMessage(d) as { id?: unknown; error?: string }));
    const bad: (string | Buffer)[] = [
      "null", "[]", '"x"', "42", '{"method": 5}', '{"id": 7, "method": "getSweep", "params": null}',
      '{"id": 8, "method": "getLayer", "params": [{"$gt": 1}, 5]}', '{"id": 9, "method": "testHost", "params": ["gpu", {"acceptHostKeys": "all"}]}',
      "{", Buffer.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad]), Buffer.alloc(64, 0xee),
    ];
    for (const m of bad) ws.send(m, { binary: Buffer.isBuffer(m) });
    await expect.poll(() => replies.length, { timeout: 10_000 }).toBe(bad.length);
    for (const r of replies) expect(r.error, JSON.stringify(r)).toBeTruthy();
    expect(replies.find((r) => r.id === 9)?.error).toMatch(/acceptHostKeys must be a list of at most 8 fingerprints/);
    // The socket and the server are still there.
    expect((await call(ws, 10, "listSweeps", [])).result).toHaveLength(1);
    ws.close();
    await stillServes();
  });

  it("refuses a WebSocket from another origin, even with the token; this server's pages and scripts without Origin get in", async () => {
    await expect(openSocket({ origin: "http://evil.example" })).rejects.toThrow(/HTTP 403/);
    await expect(openSocket({ origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toThrow(/HTTP 403/);
    await expect(openSocket({ origin: "null" })).rejects.toThrow(/HTTP 403/);
    for (const origin of [`http://127.0.0.1:${server.port}`, `http://localhost:${server.port}`, undefined]) {
      const ws = await openSocket(origin ? { origin } : {});
      expect((await call(ws, 1, "listSweeps", [])).result).toHaveLength(1);
      ws.close();
    }
  });

  it("opens the browser on a private launcher file: the token is in no argv", () => {
    const { dir: d, file } = writeLauncher(server.url);
    try {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(d).mode & 0o777).toBe(0o700);
      expect(readFileSync(file, "utf8")).toContain(JSON.stringify(server.url));
      const { args } = openerCommand(file);
      expect(args.join(" ")).not.toContain(server.token);
      expect(args).toEqual([file]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
