// The WebSocket framing lives with the other code both sides share (shared/wire.ts); re-exported for the Node side.
export * from "../../src-shared/wire";
