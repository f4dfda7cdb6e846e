// Entry: use the Api the desktop shell's preload bridge exposes (window.fractalApi), else connect to browser
// mode's WebSocket with the token from our URL. The UI itself only ever sees `Api`.
import { createRoot } from "react-dom/client";
import type { Api } from "../src-shared/contract";
import { connectWebSocket } from "./api-client";
import { App } from "./App";
import { mark } from "./perf";
import { pushNotice, start, useUi } from "./state";

const params = new URLSearchParams(location.search);
// Browser mode's token: read once from the URL the server printed, kept in this tab's sessionStorage (reloads and
// reconnects), and taken out of the address bar (and so out of history, bookmarks and screen shares). A tab opened
// on a pasted view link has none: the server then reads the HttpOnly cookie the first load set (web/server.ts).
const TOKEN_KEY = "fractal-llm-token";
const fromUrl = params.get("token");
if (fromUrl !== null) {
  try { sessionStorage.setItem(TOKEN_KEY, fromUrl); } catch { /* storage disabled: the token lives in memory only */ }
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
}
const token = fromUrl ?? (() => { try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; } })() ?? "";
mark("script");
createRoot(document.getElementById("root")!).render(<App />);

const bridged = (globalThis as { fractalApi?: Api }).fractalApi;
if (bridged) {
  void start(bridged, params).catch((e: Error) => pushNotice(e.message, "error"));
} else {
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api?token=${encodeURIComponent(token)}`;
  connectWebSocket(wsUrl).then(async (conn) => {
    mark("connected");
    void conn.closed.then((c) => useUi.setState({ connection: "closed", connectionError: c.reason || `the server closed the connection (code ${c.code})` }));
    await start(conn.api, params);
  }).catch((e: Error) => useUi.setState({ connection: "closed", connectionError: e.message }));
}
