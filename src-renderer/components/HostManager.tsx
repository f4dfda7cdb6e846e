// Host manager: hosts from ~/.ssh/config and the store, "test connection" (connect, install the agent, probe the
// interpreters: python / torch / CUDA / GPUs each), the host-key prompt with its SHA256 fingerprint, and a form
// that saves a host. A changed or revoked key is shown as refused, with no way to accept it from here. Each row
// shows the GPUs the last probe found (the service records every successful test, so the list is re-read after one).

import { useCallback, useEffect, useState } from "react";
import type { HostInfo, HostScheduler, HostTestResult, NewHost } from "../../src-shared/contract";
import { refreshTargets, useUi } from "../state";
import { hostGpusLabel } from "../sweep-control";

type Test = { running: boolean; result: HostTestResult | null; error: string | null };

export function HostManager() {
  const api = useUi((s) => s.api);
  const [hosts, setHosts] = useState<HostInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<string, Test>>({});
  // The saved host being edited in the form below (null: the form adds a new one).
  const [editing, setEditing] = useState<HostInfo | null>(null);
  // The saved host whose delete is being confirmed in its row, and why the last delete was refused.
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<{ alias: string; message: string } | null>(null);

  const refresh = useCallback(() => {
    if (!api) return;
    api.listHosts().then((h) => { setHosts(h); setError(null); }, (e: Error) => setError(e.message));
  }, [api]);
  useEffect(refresh, [refresh]);

  // acceptHostKeys: the fingerprint the prompt showed; the server must present exactly that key to be trusted.
  const test = async (alias: string, acceptHostKeys: string[]) => {
    setTests((t) => ({ ...t, [alias]: { running: true, result: null, error: null } }));
    try {
      const result = await api!.testHost(alias, { acceptHostKeys });
      setTests((t) => ({ ...t, [alias]: { running: false, result, error: null } }));
      // A probe is recorded, a failure remembered: re-read the hosts (GPUs, last failure) and the targets (cost device,
      // zoom resolution, the picker's description).
      refresh();
      void refreshTargets();
    } catch (e) {
      setTests((t) => ({ ...t, [alias]: { running: false, result: null, error: (e as Error).message } }));
      refresh();
    }
  };
  const remove = async (alias: string) => {
    setConfirming(null);
    try {
      await api!.deleteHost(alias);
      setDeleteError(null);
      if (editing?.alias === alias) setEditing(null);
    } catch (e) {
      setDeleteError({ alias, message: (e as Error).message });
    }
    refresh();
    void refreshTargets();
  };
  const reject = (alias: string) => setTests((t) => ({ ...t, [alias]: { running: false, result: null, error: "host key rejected; not connected" } }));

  return (
    <div className="hosts" data-testid="hosts">
      {error && <div className="error">{error}</div>}
      {hosts.length === 0 && <div className="muted">No hosts in ~/.ssh/config or saved yet.</div>}
      {hosts.map((h) => {
        const t = tests[h.alias];
        return (
          <div key={h.alias} className="host-row" data-testid="host-row" data-alias={h.alias}>
            <b>{h.alias}</b>{" "}
            <span className="muted">
              {h.hostname ? `${h.user ? h.user + "@" : ""}${h.hostname}:${h.port}` : "from ~/.ssh/config"}
              {h.source === "both" ? " (saved, in ~/.ssh/config)" : h.source === "store" ? " (saved)" : ""}
              {h.python ? ` python ${h.python}` : ""}
            </span>{" "}
            {h.lastFailure && !(t?.result?.status === "ok")
              ? <span className="error host-gpus" data-testid="host-gpus" data-failed="true" title={h.lastFailure.message}>
                test failed {new Date(h.lastFailure.at).toLocaleTimeString()}</span>
              : <span className={h.gpus ? "host-gpus" : "muted host-gpus"} data-testid="host-gpus" title={probeTitle(h)}>
                {hostGpusLabel(h.gpus ?? null)}
              </span>}{" "}
            {h.scheduler && (
              // A Slurm cluster: sweeps run as job arrays through this login node (docs/SLURM.md).
              <span className="muted" data-testid="host-scheduler">
                slurm: {h.scheduler.tasks} task{h.scheduler.tasks === 1 ? "" : "s"}
                {h.scheduler.partition ? `, partition ${h.scheduler.partition}` : ""}
                {h.scheduler.gpusPerTask ? `, ${h.scheduler.gpusPerTask} GPU/task` : ""}
                {h.scheduler.time ? `, ${h.scheduler.time}` : ""}
                {h.partitions?.length ? ` (partitions: ${h.partitions.join(", ")})` : ""}
              </span>
            )}{" "}
            <button data-testid="host-test" disabled={t?.running} onClick={() => void test(h.alias, [])}>
              {t?.running ? <><span className="spinner" aria-hidden />testing…</> : "test connection"}
            </button>
            {h.source !== "ssh-config" && (
              // A ~/.ssh/config alias is edited in that file; a saved host here.
              <button data-testid="host-edit" title="change this saved host's address, user, python or cluster settings"
                onClick={() => setEditing(h)}>edit</button>
            )}
            {h.source !== "ssh-config" && (confirming === h.alias
              ? <span className="host-delete-confirm">
                forget {h.alias}{h.source === "both" ? " (its ~/.ssh/config entry stays)" : ""}?{" "}
                <button data-testid="host-delete-confirm" className="danger" onClick={() => void remove(h.alias)}>delete</button>
                <button onClick={() => setConfirming(null)}>keep</button></span>
              : <button data-testid="host-delete" title="forget this saved host (its finished sweeps keep their results)"
                onClick={() => setConfirming(h.alias)}>delete</button>)}
            {deleteError?.alias === h.alias && <div className="error" data-testid="host-delete-error">{deleteError.message}</div>}
            {t?.error && <div className="error" data-testid="host-error">{t.error}</div>}
            {!t && h.lastFailure && <div className="error" data-testid="host-error">{h.lastFailure.message}</div>}
            {t?.result && <TestResult r={t.result} onAccept={(fp) => void test(h.alias, [fp])} onReject={() => reject(h.alias)} />}
          </div>
        );
      })}
      <AddHost key={editing?.alias ?? ""} editing={editing} onAdded={() => { setEditing(null); refresh(); void refreshTargets(); }}
        onCancel={() => setEditing(null)} />
    </div>
  );
}

/** The row's tooltip: the GPUs' full names ("name (memory GiB)") and when they were probed. */
function probeTitle(h: HostInfo): string | undefined {
  const lines = [...(h.gpus ?? []), ...(h.probedAt ? [`probed ${new Date(h.probedAt).toLocaleString()}`] : [])];
  return lines.length ? lines.join("\n") : undefined;
}

function TestResult({ r, onAccept, onReject }: { r: HostTestResult; onAccept: (fingerprint: string) => void; onReject: () => void }) {
  if (r.status === "error") return <div className="error" data-testid="host-error">{r.kind}: {r.message}</div>;
  if (r.status === "host-key") {
    const k = r.hostKey;
    if (k.problem === "unknown") {
      return (
        <div className="hostkey" data-testid="hostkey-prompt">
          <div>The host key of {k.host}:{k.port} is not known yet. Check that its {k.keyType} fingerprint is</div>
          <code data-testid="hostkey-fingerprint">{k.fingerprint}</code>
          <div className="buttons">
            <button data-testid="hostkey-accept" onClick={() => onAccept(k.fingerprint)}>accept this key and connect</button>
            <button data-testid="hostkey-reject" onClick={onReject}>reject</button>
          </div>
        </div>
      );
    }
    return (
      <div className="hostkey error" data-testid="hostkey-refused">
        <div>Refused: the host key of {k.host}:{k.port} is {k.problem}. Connections stay refused until the key is checked and the
          old entry removed by hand.</div>
        <div>new: <code data-testid="hostkey-fingerprint">{k.fingerprint}</code></div>
        {k.knownFingerprints.map((f) => <div key={f}>on record: <code>{f}</code></div>)}
      </div>
    );
  }
  return (
    <div className="host-ok" data-testid="host-ok">
      <div>connected to {r.label}; agent in {r.installDir}; runs with <code>{r.python}</code></div>
      <table className="interpreters">
        <thead><tr><th>interpreter</th><th>python</th><th>torch</th><th>CUDA</th><th>GPUs</th></tr></thead>
        <tbody>
          {r.interpreters.map((i) => (
            <tr key={`${i.candidate}|${i.path}`} className={i.ok ? "" : "muted"}>
              <td title={i.path ?? ""}>{i.candidate}{i.path === r.python ? " ✓" : ""}</td>
              <td>{i.python ?? "—"}</td>
              <td>{i.torch ?? (i.problem ?? "—")}</td>
              <td>{i.cudaAvailable ? i.cuda ?? "yes" : "no"}</td>
              <td>{i.gpus.length ? i.gpus.join(", ") : "none"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const NO_HOST = { alias: "", hostname: "", port: "22", user: "", python: "" };
const NO_SLURM = { tasks: "1", partition: "", gpusPerTask: "", cpusPerTask: "", time: "", account: "" };

/** The add form's Slurm fields as NewHost.scheduler; blank fields are left to Slurm's defaults. A count that is not
 * a whole number is refused here, naming the field (JSON would carry NaN as null, i.e. "unset"); addHost checks the
 * rest and names a bad value the same way (e.g. "scheduler.time must be a Slurm time limit"). */
export function slurmFields(f: typeof NO_SLURM): NonNullable<NewHost["scheduler"]> {
  const count = (k: "tasks" | "gpusPerTask" | "cpusPerTask") => {
    const v = f[k].trim();
    if (v === "") return null;
    if (!/^\d+$/.test(v)) throw new Error(`scheduler.${k} must be a whole number, got "${v}"`);
    return Number(v);
  };
  const text = (v: string) => v.trim() || null;
  return { kind: "slurm", tasks: count("tasks"), partition: text(f.partition), gpusPerTask: count("gpusPerTask"),
    cpusPerTask: count("cpusPerTask"), time: text(f.time), account: text(f.account) };
}

/** A saved host as the form's fields, to edit it. */
function hostFields(h: HostInfo): typeof NO_HOST {
  return { alias: h.alias, hostname: h.hostname ?? "", port: String(h.port ?? 22), user: h.user ?? "", python: h.python ?? "" };
}

function slurmFormFields(s: HostScheduler): typeof NO_SLURM {
  const v = (x: number | string | null) => (x === null ? "" : String(x));
  return { tasks: v(s.tasks), partition: v(s.partition), gpusPerTask: v(s.gpusPerTask), cpusPerTask: v(s.cpusPerTask), time: v(s.time), account: v(s.account) };
}

/** The form that adds a host, or (`editing`) changes a saved one: the same save, which replaces the host's fields. */
function AddHost({ editing, onAdded, onCancel }: { editing: HostInfo | null; onAdded: () => void; onCancel: () => void }) {
  const api = useUi((s) => s.api);
  const [h, setH] = useState(() => (editing ? hostFields(editing) : NO_HOST));
  // A cluster's login node: its sweeps go to Slurm as job arrays (docs/SLURM.md).
  const [slurm, setSlurm] = useState<typeof NO_SLURM | null>(() => (editing?.scheduler ? slurmFormFields(editing.scheduler) : null));
  const [error, setError] = useState<string | null>(null);
  const field = (k: keyof typeof h, label: string) => (
    <label className="field" style={{ display: "block" }}>{label}{" "}
      {/* An edited host keeps its alias: sweeps name their target by it. */}
      <input data-testid={`host-add-${k}`} value={h[k]} readOnly={!!editing && k === "alias"} onChange={(e) => setH({ ...h, [k]: e.target.value })} />
    </label>
  );
  const slurmField = (k: keyof typeof NO_SLURM, label: string, hint: string) => (
    <label className="field" style={{ display: "block" }} title={hint}>{label}{" "}
      <input data-testid={`host-add-slurm-${k}`} value={slurm![k]} placeholder={hint}
        onChange={(e) => setSlurm({ ...slurm!, [k]: e.target.value })} />
    </label>
  );
  const add = async () => {
    try {
      const host: NewHost = { alias: h.alias.trim(), hostname: h.hostname.trim(), port: Number(h.port), user: h.user.trim() || null,
        python: h.python.trim() || null, ...(slurm ? { scheduler: slurmFields(slurm) } : {}) };
      await api!.addHost(host);
      setError(null);
      setH(NO_HOST);
      setSlurm(null);
      onAdded();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div className="host-add" data-testid="host-add">
      <h3>{editing ? `edit ${editing.alias}` : "add a host"}</h3>
      {field("alias", "alias")}{field("hostname", "hostname")}{field("port", "port")}{field("user", "user")}{field("python", "python")}
      <label className="field" style={{ display: "block" }} title="the host is a Slurm cluster's login node: each sweep runs as a job array">
        <input type="checkbox" data-testid="host-add-slurm" checked={slurm !== null}
          onChange={(e) => setSlurm(e.target.checked ? NO_SLURM : null)} /> Slurm cluster (login node)
      </label>
      {slurm && (
        <div className="host-add-slurm">
          {slurmField("tasks", "array tasks", "tasks per sweep, each a shard of the cells")}
          {slurmField("partition", "partition", "blank: the cluster's default")}
          {slurmField("gpusPerTask", "GPUs per task", "blank: none asked for")}
          {slurmField("cpusPerTask", "CPUs per task", "blank: the partition's default")}
          {slurmField("time", "time limit", "e.g. 4:00:00 or 1-00:00:00; blank: the partition's")}
          {slurmField("account", "account", "blank: your default")}
        </div>
      )}
      {error && <div className="error" data-testid="host-add-error">{error}</div>}
      <div className="buttons">
        {editing && <button data-testid="host-edit-cancel" onClick={onCancel}>cancel</button>}
        <button data-testid="host-add-save" disabled={!h.alias || !h.hostname} onClick={() => void add()}>{editing ? "save changes" : "save host"}</button>
      </div>
    </div>
  );
}
