// Schema migrations, applied in order. Migration i takes PRAGMA user_version from i to i+1 inside one
// transaction (store.ts). Never edit a released migration: append a new one.

export const MIGRATIONS: readonly string[] = [
  // 1: hosts, sweeps, dense result blocks, done bitmaps, curves, sync cursors.
  `
  CREATE TABLE hosts (
    alias      TEXT PRIMARY KEY,
    hostname   TEXT NOT NULL,
    port       INTEGER NOT NULL DEFAULT 22,
    user       TEXT,
    python     TEXT,              -- interpreter path on the host; NULL: probe
    agent_dir  TEXT,              -- where the agent is installed; NULL: the default
    created_at TEXT NOT NULL
  );

  CREATE TABLE sweeps (
    id         TEXT PRIMARY KEY,  -- chosen by the client, also the agent's sweep id
    name       TEXT NOT NULL,
    spec       TEXT NOT NULL,     -- normalised spec, canonical JSON
    parent_id  TEXT REFERENCES sweeps(id),
    x0 REAL NOT NULL, x1 REAL NOT NULL, y0 REAL NOT NULL, y1 REAL NOT NULL,  -- window in axis units
    nx INTEGER NOT NULL, ny INTEGER NOT NULL, cells INTEGER NOT NULL,
    done_cells INTEGER NOT NULL DEFAULT 0,
    target     TEXT NOT NULL,     -- "local", an ssh alias or ssh://user@host:port
    status     TEXT NOT NULL CHECK (status IN ('created', 'submitted', 'running', 'completed', 'cancelled', 'failed')),
    env        TEXT,              -- JSON from the agent's sweep event (python, torch, CUDA, GPU, agent version)
    seed       INTEGER NOT NULL,
    error      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX sweeps_parent ON sweeps(parent_id);

  -- One compressed typed array (codec.ts) per sweep, field and block of 16384 consecutive cells.
  CREATE TABLE result_blocks (
    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    field    TEXT NOT NULL,
    block    INTEGER NOT NULL,
    dtype    TEXT NOT NULL CHECK (dtype IN ('f8', 'f4', 'i4', 'u1')),
    data     BLOB NOT NULL,
    PRIMARY KEY (sweep_id, field, block)
  );

  -- Which cells of a block have a result (one bit per cell, LSB first), and how many.
  CREATE TABLE done_blocks (
    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    block    INTEGER NOT NULL,
    bits     BLOB NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (sweep_id, block)
  );

  -- Per-cell curves (sweeps that record them): int32 steps, float32 loss and grad norm, little-endian.
  CREATE TABLE curves (
    sweep_id  TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    cell      INTEGER NOT NULL,
    step      BLOB NOT NULL,
    loss      BLOB NOT NULL,
    grad_norm BLOB NOT NULL,
    PRIMARY KEY (sweep_id, cell)
  );

  -- The last journal seq ingested from a host: a reconnect follows from here.
  CREATE TABLE sync_cursors (
    sweep_id   TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    host       TEXT NOT NULL,
    last_seq   INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (sweep_id, host)
  );
  `,
  // 2: the untrained model's numbers of an SFT sweep (the agent's base event), so forgetting shows per cell.
  `
  ALTER TABLE sweeps ADD COLUMN base TEXT;  -- JSON: heldout_loss, ood_loss (null: not configured), evals
  `,
  // 3: answers of the base and the fine-tuned model for a re-run SFT cell (the agent's samples command), kept so
  // the inspector shows them offline. Greedy decoding is deterministic, so one request has one result.
  `
  CREATE TABLE cell_samples (
    sweep_id   TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    cell       INTEGER NOT NULL,
    request    TEXT NOT NULL,     -- canonical JSON {"max_new_tokens", "prompts"} (prompts null: held-out prompts)
    result     TEXT NOT NULL,     -- the agent's JSON: hparams, final_loss, samples [{prompt, reference, base, tuned}]
    created_at TEXT NOT NULL,
    PRIMARY KEY (sweep_id, cell, request)
  );
  `,
  // 4: what launching on any target needs. source_spec: the spec as given on the laptop (its jsonl: and evals paths
  // the laptop's own, absolute) when `spec` was rewritten for a node, so a zoom run elsewhere never inherits
  // node-only paths. host_probes: what the last connection to a target found (python, torch, GPUs), for the
  // target pickers' GPUs, cost and default zoom resolution. ui_sweep_tags moves here from the API service (which
  // created it itself; IF NOT EXISTS keeps the tags of databases it made).
  `
  ALTER TABLE sweeps ADD COLUMN source_spec TEXT;  -- canonical JSON; NULL: the same as spec
  CREATE TABLE host_probes (
    target    TEXT PRIMARY KEY,  -- "local", a host alias or an ssh:// address, as sweeps.target names it
    python    TEXT NOT NULL,     -- the interpreter that runs the agent there
    env       TEXT NOT NULL,     -- JSON: the agent's env (python, torch, cuda_available, gpus [{name, memory}], cpu_count)
    probed_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ui_sweep_tags (
    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE, tag TEXT NOT NULL, PRIMARY KEY (sweep_id, tag)
  );
  `,
  // 5: a host reached through a cluster's login node: its scheduler settings (core/scheduler.ts), so its sweeps run
  // as Slurm job arrays there.
  `
  ALTER TABLE hosts ADD COLUMN scheduler TEXT;  -- JSON {kind: "slurm", tasks, partition, gpusPerTask, cpusPerTask, time, account}; NULL: none
  `,
  // 6: a map wider than PREVIEW_SIDE keeps a strided copy of every field (cells (i*stride, j*stride)), written at
  // ingest, so the explorer's first frame of a 4096^2 map reads a few small rows instead of a quarter of the map's
  // blocks (store.ts "Kept previews"). preview_stride NULL: none kept (a small map, or a sweep recorded before this
  // migration, whose preview is built on first read).
  `
  ALTER TABLE sweeps ADD COLUMN preview_stride INTEGER;
  CREATE TABLE preview_blocks (
    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    field    TEXT NOT NULL,
    block    INTEGER NOT NULL,  -- PREVIEW_BLOCK consecutive cells of the coarse grid, row-major
    dtype    TEXT NOT NULL CHECK (dtype IN ('f8', 'f4', 'i4', 'u1')),
    data     BLOB NOT NULL,
    PRIMARY KEY (sweep_id, field, block)
  );
  CREATE TABLE preview_done (
    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    block    INTEGER NOT NULL,
    data     BLOB NOT NULL,     -- one byte per coarse cell (codec.ts u1), 1 where the cell has a result
    PRIMARY KEY (sweep_id, block)
  );
  `,
  // 7: the epoch of the journal a cursor counts in (PROTOCOL.md "Epoch"): a journal replaced under the same sweep id
  // (deleted and resubmitted from another database) has another, and the cursor then means nothing there.
  `
  ALTER TABLE sync_cursors ADD COLUMN epoch TEXT;  -- NULL: not seen yet, or a journal from before epochs
  `,
  // 8: named views the user keeps (the explorer's bookmarks), gone with their sweep.
  `
  CREATE TABLE ui_bookmarks (
    id         INTEGER PRIMARY KEY,
    sweep_id   TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    cx REAL NOT NULL, cy REAL NOT NULL, sx REAL NOT NULL, sy REAL NOT NULL,  -- the view (src-renderer/view.ts View)
    created_at TEXT NOT NULL
  );
  `,
];
