// A thin stand-in for the two Electron objects the IPC layer touches (the electron binary cannot run here):
// an ipcMain that records `handle` registrations, and an ipcRenderer that invokes them as a page at `url` would,
// with arguments and replies passed through structuredClone as Electron's IPC serialises them.
import { EventEmitter } from "node:events";
import type { IpcInvokeEventLike, IpcMainLike, IpcReply, IpcRendererLike } from "../../src-main/electron/ipc";

type Handler = (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<IpcReply>;

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, listener: Handler): void {
    // Electron throws on a second handler for one channel; so do we, so double registration cannot pass.
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
}

export class FakeIpcRenderer implements IpcRendererLike {
  private readonly events = new EventEmitter();
  /** `url`: the sender frame's URL (null: no frame, as after the frame navigated away). */
  constructor(private readonly main: FakeIpcMain, private readonly url: string | null) {}
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    const h = this.main.handlers.get(channel);
    if (!h) throw new Error(`Error invoking remote method '${channel}': No handler registered for '${channel}'`);
    const reply = await h({ senderFrame: this.url === null ? null : { url: this.url } }, ...structuredClone(args));
    return structuredClone(reply);
  }
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void {
    this.events.on(channel, listener);
  }
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void {
    this.events.removeListener(channel, listener);
  }
  /** What webContents.send(channel, ...args) delivers in the renderer. */
  deliver(channel: string, ...args: unknown[]): void {
    this.events.emit(channel, {}, ...structuredClone(args));
  }
  listenerCount(channel: string): number {
    return this.events.listenerCount(channel);
  }
}
