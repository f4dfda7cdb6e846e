// How the Node side reaches the remote agent: always a process speaking newline-delimited JSON on stdio
// (docs/ARCHITECTURE.md "Node transports"). `local` spawns a Python subprocess (local-transport.ts);
// `ssh` execs the same command on an ssh2 channel (src-main/ssh/). Everything above this seam
// (agent-client.ts, sweep-runner.ts) is transport-agnostic.

export interface AgentProcess {
  stdin: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** Resolves once the process (or SSH channel) has exited; never rejects. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(): void;
}

export interface Transport {
  /** "local" or "user@host:port". */
  readonly label: string;
  /** Run `python -m fractal_agent <args>` with the agent importable. */
  agent(args: string[]): Promise<AgentProcess>;
  close(): Promise<void>;
}
