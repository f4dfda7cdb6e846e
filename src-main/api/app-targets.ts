// Targets and hosts as the app sees them: which targets a request may name, opening one with the app's SSH options
// (its HOME, trust list, ssh-agent; a problem is the request's ApiError), retrying while a followed sweep's target is
// unreachable, what each target's last probe found (listTargets, cost estimates), and the host manager (hosts.ts).

import { estimateOn } from "../core/cost";
import type { CostEstimate } from "../../src-shared/format";
import type { Store } from "../core/store";
import { GaveUpError } from "../core/sweep-runner";
import { type OpenTarget, openTarget, targetProfile } from "../launch/targets";
import type { Spec } from "../../src-shared/spec";
import {
  ApiError, type HostInfo, type HostTestOptions, type HostTestResult, type NewHost, type TargetInfo,
} from "../../src-shared/contract";
import { addHost, configAliases, deleteHost, listHosts, testHost, uiTargetOptions } from "./hosts";

export interface TargetSettings {
  python?: string; home?: string; trustFile?: string; agentSocket?: string | null; localAgentHome?: string; maxFailures?: number;
}

export class AppTargets {
  /** Each host's last failed connection test in this session, so the host list and the target picker show the
   *  failure rather than "not probed yet" (a successful test records its probe in the store, and clears this). */
  private readonly failures = new Map<string, { message: string; at: string }>();

  constructor(private readonly store: Store, private readonly opts: TargetSettings, private readonly notice: (message: string) => void) {}

  async listTargets(): Promise<TargetInfo[]> {
    const hosts = await this.listHosts();
    return [this.targetInfo("local"), ...hosts.map((h) => this.targetInfo(h.alias, h))];
  }

  /** What a target is known to have (its last probe), and the defaults that follow: cost device, zoom points. */
  private targetInfo(target: string, host?: HostInfo): TargetInfo {
    const p = targetProfile(this.store, target);
    const cpus = p.cpuCount !== null ? ` (${p.cpuCount} CPU cores)` : " (CPU)";
    const where = host?.hostname ? `${host.user ? host.user + "@" : ""}${host.hostname}:${host.port}` : "from ~/.ssh/config";
    const failed = this.failures.get(target);
    const description = target === "local" ? `this computer${cpus}`
      : failed ? `${where}, last test failed: ${failed.message}`
      : p.gpus === null ? `${where}, not probed yet` : p.gpus.length ? `${where}, ${p.gpus.length}× ${p.gpus[0]}` : `${where}, no GPU${cpus}`;
    return {
      target, kind: target === "local" ? "local" : "ssh", description, gpus: p.gpus, device: p.device, count: p.count,
      zoomPoints: p.zoomPoints, probedAt: p.probedAt,
    };
  }

  private hostOptions() {
    const home = this.opts.home ?? process.env.HOME;
    if (!home) throw new ApiError("no home directory to read .ssh/config from: set HOME");
    return { home, trustFile: this.opts.trustFile, agentSocket: this.opts.agentSocket };
  }

  async listHosts(): Promise<HostInfo[]> {
    return (await listHosts(this.store, this.hostOptions())).map((h) => ({ ...h, lastFailure: this.failures.get(h.alias) ?? null }));
  }

  async deleteHost(alias: string): Promise<void> {
    deleteHost(this.store, alias);
    this.failures.delete(alias);
  }

  async addHost(host: NewHost): Promise<HostInfo> {
    return addHost(this.store, host);
  }

  async testHost(alias: string, options: HostTestOptions): Promise<HostTestResult> {
    if (typeof alias !== "string" || !alias) throw new ApiError(`host alias must be a non-empty string, got ${JSON.stringify(alias)}`);
    // Only the fingerprints the user was shown are trusted (hosts.ts refuses a key that differs).
    const at = new Date().toISOString();
    try {
      const r = await testHost(this.store, alias, options?.acceptHostKeys ?? [], this.hostOptions());
      if (r.status === "ok") this.failures.delete(alias);
      else if (r.status === "error") this.failures.set(alias, { message: `${r.kind}: ${r.message}`, at });
      // An unknown key is a question put to the user, not a failure; a changed or revoked one refuses the host.
      else if (r.hostKey.problem !== "unknown") this.failures.set(alias, { message: `host key ${r.hostKey.problem}: ${r.message}`, at });
      return r;
    } catch (e) {
      this.failures.set(alias, { message: (e as Error).message, at });
      throw e;
    }
  }

  /** A target the app can run on: "local", a saved host, a ~/.ssh/config alias or an ssh:// address. */
  checkTarget(target: unknown): string {
    if (typeof target !== "string" || !target) throw new ApiError(`target must be "local" or a host alias, got ${JSON.stringify(target)}`);
    if (target === "local" || this.store.host(target) || target.startsWith("ssh://")) return target;
    const home = this.opts.home ?? process.env.HOME;
    if (home && configAliases(home).includes(target)) return target;
    throw new ApiError(`unknown target ${JSON.stringify(target)}: not "local", a saved host or a Host of ~/.ssh/config; add it in the host manager`);
  }

  /** Cost on a target from what its last probe found (GPUs and how many), else one GPU or the laptop's CPU; the time
   *  from its earlier sweeps of the same kind where it has run some. */
  estimate(spec: Spec, target: string): CostEstimate {
    return estimateOn(this.store, target, spec, targetProfile(this.store, target));
  }

  /** Options for opening a target from the app: the host manager's files; --python applies to local only. */
  targetOptions(target: string) {
    const home = this.opts.home ?? process.env.HOME ?? "";
    return {
      ...uiTargetOptions({ home, trustFile: this.opts.trustFile, agentSocket: this.opts.agentSocket }),
      python: target === "local" ? this.opts.python : undefined, localAgentHome: this.opts.localAgentHome,
      onRetry: (message: string) => this.notice(message), // a dropped phase being retried, shown as it happens
    };
  }

  async open(target: string): Promise<OpenTarget> {
    try {
      return await openTarget(this.store, target, this.targetOptions(target));
    } catch (e) {
      throw new ApiError(`cannot open ${target}: ${(e as Error).message}`);
    }
  }

  /** Open a target for following, retrying with backoff while it is unreachable; null once `signal` aborts. */
  async openWithRetry(target: string, signal: AbortSignal): Promise<OpenTarget | null> {
    const max = this.opts.maxFailures ?? 30;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return null;
      try {
        return await openTarget(this.store, target, this.targetOptions(target));
      } catch (e) {
        const { isRetryable, SshError } = await import("../ssh/index");
        // Following a sweep outlasts a laptop's trip between networks: a name DNS does not know now (offline, off the
        // VPN) may resolve later, so here it is retried too, unlike in an interactive test or start.
        const later = isRetryable(e) || (e instanceof SshError && e.kind === "unknown-host");
        if (target === "local" || !later || attempt >= max) throw new GaveUpError(`cannot open ${target}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** (attempt - 1))));
      }
    }
  }

}
