// A Slurm cluster in the host list (no cluster needed): the scheduler fields of addHost as the API checks them,
// kept in the store (migration 5), and listHosts showing the settings and the partitions the last probe found.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addHost, listHosts } from "../../src-main/api/hosts";
import { checkArgs } from "../../src-main/api/validate";
import { agentScheduler, parseScheduler, schedulerSettings } from "../../src-main/core/scheduler";
import { openStore } from "../../src-main/core/store";
import { tempDir } from "../core/helpers";

describe("cluster hosts", () => {
  it("saves a host's Slurm settings and lists them with the partitions sinfo reported at the last probe", () => {
    const dir = tempDir("fractal-slurm-hosts-");
    const store = openStore(join(dir, "db.sqlite"));
    const [host] = checkArgs("addHost", [{ alias: "cluster", hostname: "login.example.org", port: 22, user: "me", python: null,
      scheduler: { kind: "slurm", tasks: 8, partition: "gpu", gpusPerTask: 1, time: "4:00:00" } }]) as [Parameters<typeof addHost>[1]];
    const saved = addHost(store, host);
    expect(saved.scheduler).toEqual({ kind: "slurm", tasks: 8, partition: "gpu", gpusPerTask: 1, cpusPerTask: null, time: "4:00:00", account: null });
    expect(saved.partitions).toBeNull();
    store.setHostProbe("cluster", "/usr/bin/python3", { gpus: [], slurm: { partitions: [{ name: "gpu", default: false }, { name: "cpu", default: true }], error: null } });
    addHost(store, { alias: "plain", hostname: "gpu-box", port: 22, user: null, python: null });
    const hosts = listHosts(store, { home: dir });
    expect(hosts.find((h) => h.alias === "cluster")).toMatchObject({ scheduler: { tasks: 8 }, partitions: ["gpu", "cpu*"] });
    expect(hosts.find((h) => h.alias === "plain")).toMatchObject({ scheduler: null, partitions: null });
    // Saving the host again without a scheduler turns it back into a plain SSH host.
    addHost(store, { alias: "cluster", hostname: "login.example.org", port: 22, user: "me", python: null });
    expect(listHosts(store, { home: dir }).find((h) => h.alias === "cluster")?.scheduler).toBeNull();
    store.close();
  });

  it("names the field of a bad setting", () => {
    expect(() => checkArgs("addHost", [{ alias: "c", hostname: "h", port: 22, user: null, python: null, scheduler: { kind: "pbs" } }]))
      .toThrow(/host\.scheduler\.kind must be "slurm"/);
    expect(() => checkArgs("addHost", [{ alias: "c", hostname: "h", port: 22, user: null, python: null, scheduler: { kind: "slurm", nodes: 2 } }]))
      .toThrow(/host\.scheduler\.nodes is not a field/);
    expect(() => checkArgs("addHost", [{ alias: "c", hostname: "h", port: 22, user: null, python: null, scheduler: { kind: "slurm", tasks: 0 } }]))
      .toThrow(/host\.scheduler\.tasks/);
    const store = openStore(":memory:");
    expect(() => addHost(store, { alias: "c", hostname: "h", port: 22, user: null, python: null, scheduler: { kind: "slurm", time: "soon" } }))
      .toThrow(/scheduler\.time must be a Slurm time limit/);
    expect(() => addHost(store, { alias: "c", hostname: "h", port: 22, user: null, python: null, scheduler: { kind: "slurm", partition: "a b" } }))
      .toThrow(/scheduler\.partition must be a partition name/);
    expect(store.host("c")).toBeUndefined();
    store.close();
    expect(() => schedulerSettings({ partition: "gpu" })).toThrow(/partition needs a scheduler/);
  });

  it("sends the agent its settings in snake_case", () => {
    const s = schedulerSettings({ scheduler: "slurm", tasks: 4, gpusPerTask: 2, account: "lab" })!;
    expect(agentScheduler(s)).toEqual({ kind: "slurm", tasks: 4, partition: null, gpus_per_task: 2, cpus_per_task: null, time: null, account: "lab" });
    expect(parseScheduler(JSON.stringify(s))).toEqual(s);
    expect(parseScheduler(null)).toBeNull();
  });
});
