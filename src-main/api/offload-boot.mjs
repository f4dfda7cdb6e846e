// Entry of the service's worker thread (offload.ts): plain JavaScript, so Node can start it anywhere; it
// registers tsx and imports the TypeScript worker (offload-worker.ts) whose URL the service passes in.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
