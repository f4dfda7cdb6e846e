// Browser-mode entry: connect to the server's WebSocket with the token from our URL, then render.
import { createRoot } from "react-dom/client";
import { connectWebSocket } from "./api-client";
import { App } from "./App";
import { start, useUi } from "./state";

const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api?token=${encodeURIComponent(params.get("token") ?? "")}`;

createRoot(document.getElementById("root")!).render(<App />);

connectWebSocket(wsUrl).then(async (conn) => {
  void conn.closed.then((c) => useUi.setState({ connection: "closed", connectionError: c.reason || `the server closed the connection (code ${c.code})` }));
  await start(conn.api, params);
}).catch((e: Error) => useUi.setState({ connection: "closed", connectionError: e.message }));
