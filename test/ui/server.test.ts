// Browser-mode server over a real database: token, host check, static files, the API over the socket.
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeMessage, encodeMessage } from "../../src-main/api/wire";
import { validate } from "../../src-main/core/spec";
import { openStore } from "../../src-main/core/store";
import { startWebServer, type WebServer } from "../../src-main/web/server";

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
  server = await startWebServer({ dbPath: db, port: 0, open: false });
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

  it("refuses a second server on the same port with a clear message", async () => {
    await expect(startWebServer({ dbPath: join(dir, "other.sqlite"), port: server.port })).rejects.toThrow(/port is in use/);
  });
});
