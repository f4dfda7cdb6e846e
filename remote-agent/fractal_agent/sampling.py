"""Boundary sampling (spec "sampling": "boundary"): solid guessing, as fractal renderers do (Mariani–Silver).

A map's cells fall into coarse-to-fine levels (spec.coarse_to_fine): level 0 is a lattice of stride
2**top_level(points) per axis, and each later level halves the strides and adds the cells new to that lattice.
Every level-0 cell is trained. For level L > 0, each new cell lies in a block of the level-(L-1) lattice,
whose corners (lattice points, trained or inferred) are known by then:

  * a block is *mixed* when its corners disagree on the outcome (trainable: converged vs diverged);
  * the new cells of mixed blocks and of the blocks touching one (the 3x3 neighbourhood) are trained;
  * the new cells of every other block are *inferred*: they take the outcome and every field of the block's
    nearest corner (itself trained, or inferred from a trained cell: the fields are always a trained cell's),
    with `inferred` = 1, and wall_time = flops = 0 (nothing was spent on them); no curves;
  * an audit: each would-be-inferred cell is trained instead with probability BOUNDARY_AUDIT_FRACTION, chosen
    by a hash of (cell index, model seed), so the choice is the same whatever order or population trains it.
    An audited cell whose outcome differs from the guess is a *miss*: every cell still guessed in the 3x3
    blocks around it (this level's would-be-inferred cells and earlier levels' inferred ones) is trained too,
    and any of those that differ from their guess are misses in turn, until none is left. The missed feature
    then has trained corners, so the finer levels follow it.

Each decision reads only outcomes of trained cells, and for the paper MLP those are the same bits in any
population (mlp.py), so the same spec trains the same set of cells and records the same bits whatever the
worker count or population size. The plan is replayed from the journal on resume: recorded cells are read
back, not trained again.

The scheduler drives a BoundaryPlan round by round (next_round): ("train", level, cells) are cells to train
now, and every finished population goes back through take(); ("infer", level, tiles) are the level's inferred
cells as tiles to journal, at the end of the plan (until then an audit miss may still turn one into a trained cell).
"""
import numpy as np

from .tiles import CURVES
from .spec import BOUNDARY_AUDIT_FRACTION, coarse_to_fine, sampling, top_level

# Blocks wider than this are never guessed: the levels of coarser lattices are trained in full. A tanh map's
# islands of one outcome inside the other are often a few cells wide; a block wider than them would skip one
# and no later level could find it again (only an audit could).
MAX_BLOCK = 8
INFERRED_TILE_CELLS = 1 << 16  # cells per journaled tile of inferred cells
# fields an inferred cell does not copy from its source: it cost nothing to make
ZERO_FIELDS = ("wall_time", "flops")


def plan_for(spec, journal):
    """The BoundaryPlan of a boundary sweep, replaying what `journal` (journal.Journal) already recorded;
    None for a grid sweep (the scheduler then trains every pending cell)."""
    if sampling(spec) != "boundary":
        return None
    from .journal import read_results
    recorded = read_results(journal.path, warn=journal.warn) if journal.done_count else None
    return BoundaryPlan(spec, recorded)


def audit_mask(cells, seed, fraction=BOUNDARY_AUDIT_FRACTION):
    """True for the cells audited: splitmix64 of (cell, seed) below fraction, independent of order."""
    with np.errstate(over="ignore"):
        z = np.asarray(cells, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) \
            + np.uint64(0x632BE59BD9B4E019)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) < fraction


def _dilate(mask):
    """A 2-D bool mask grown by one block in each of the 8 directions."""
    out = mask.copy()
    h, w = mask.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
            xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
            out[yd, xd] |= mask[ys, xs]
    return out


class BoundaryPlan:
    """Which cells of a boundary sweep to train and which to infer, level by level (module docstring).

    `recorded`: journal.read_results of the sweep so far (None for a new sweep); its cells are not trained
    again and its inferred cells not journaled again.
    """

    def __init__(self, spec, recorded=None):
        ax, ay = spec["axes"]["x"], spec["axes"]["y"]
        self.nx, self.ny = ax["points"], ay["points"]
        self.n = self.nx * self.ny
        self.seed = spec["model"]["seed"]
        self.tops = (top_level(self.nx), top_level(self.ny))
        self.levels = max(self.tops) + 1
        order, levels = coarse_to_fine(self.nx, self.ny)
        self._by_level = np.split(order, np.flatnonzero(np.diff(levels)) + 1)
        self.outcome = np.full(self.n, -1, dtype=np.int8)   # trainable of every known cell, -1 not yet known
        self.source = np.full(self.n, -1, dtype=np.int64)   # the trained cell whose fields a known cell holds
        self.trained = np.zeros(self.n, dtype=bool)
        self.inferred = np.zeros(self.n, dtype=bool)
        self.fields = {}                                     # name -> one value per cell (trained cells' rows)
        self.recorded = np.zeros(self.n, dtype=bool)
        self._recorded_fields = {}
        if recorded is not None:
            self.recorded = recorded["recorded"].copy()
            self._recorded_fields = recorded["fields"]
        self.trained_now = 0   # cells this run trained (not read back from the journal)
        self.misses = []       # (level, cell) of every audit (or flood) miss, for tests and the log
        self._rounds = self._plan()

    # ------------------------------------------------------------------------- the scheduler's side

    def next_round(self):
        """("train", level, cells) with cells not recorded yet, ("infer", level, tiles), or None when done."""
        return next(self._rounds, None)

    def take(self, results):
        """A finished population's rows (trainer.run_cells), before they are journaled."""
        self._absorb(np.asarray(results["cell"], dtype=np.int64), results)
        self.trained_now += len(results["cell"])

    @staticmethod
    def mark_trained(results):
        """The rows with the `inferred` field (0: trained), as a boundary sweep journals them."""
        return {**results, "inferred": np.zeros(len(results["cell"]), dtype=np.uint8)}

    # ------------------------------------------------------------------------- the plan

    def _absorb(self, cells, rows):
        if len(cells) == 0:
            return
        for name, values in rows.items():
            values = np.asarray(values)
            if name in ("cell", "inferred") or name in CURVES:
                continue  # inferred cells carry no curves: they were not trained
            if name not in self.fields:
                empty = np.nan if values.dtype.kind == "f" else 0
                self.fields[name] = np.full(self.n, empty, dtype=values.dtype)
            self.fields[name][cells] = values
        self.outcome[cells] = np.asarray(rows["trainable"]).astype(np.int8)
        self.source[cells] = cells
        self.trained[cells] = True

    def _train(self, level, cells):
        """Rounds that train `cells`: the recorded ones are read back, the rest yielded to the scheduler."""
        cells = np.asarray(cells, dtype=np.int64)
        old = cells[self.recorded[cells]]
        if len(old):
            self._absorb(old, {name: f[old] for name, f in self._recorded_fields.items()})
        new = cells[~self.recorded[cells]]
        if len(new):
            yield "train", level, new
            missing = new[~self.trained[new]]
            if len(missing):
                raise RuntimeError(f"boundary sampling: {len(missing)} cell(s) of level {level} were handed out but "
                                   f"no result came back (e.g. cell {int(missing[0])})")

    def _strides(self, level):
        return tuple(1 << max(top - level, 0) for top in self.tops)

    def _guess(self, level, cells):
        """For cells new at `level` > 0: (block row, block col, refine?, guessed outcome, source) from the
        level-(level-1) lattice, every point of which is known by then."""
        sx, sy = self._strides(level - 1)
        ix, iy = cells % self.nx, cells // self.nx
        by, bx = iy // sy, ix // sx
        grid = self.outcome.reshape(self.ny, self.nx)[::sy, ::sx]
        if (grid < 0).any():
            raise AssertionError(f"boundary sampling: the level-{level - 1} lattice is not fully known")
        ly, lx = grid.shape
        pad = np.pad(grid, ((0, 1), (0, 1)), mode="edge")  # a block on the far edge has one corner per axis
        corners = np.stack([pad[:-1, :-1], pad[:-1, 1:], pad[1:, :-1], pad[1:, 1:]])
        refine = _dilate(corners.max(axis=0) != corners.min(axis=0))
        # nearest corner (ties: the lower row, then the lower column); it exists: clipped to the map's edge
        x0, y0 = bx * sx, by * sy
        x1 = np.where((ix > x0) & (x0 + sx < self.nx), x0 + sx, x0)
        y1 = np.where((iy > y0) & (y0 + sy < self.ny), y0 + sy, y0)
        cx = np.where(x1 - ix < ix - x0, x1, x0)
        cy = np.where(y1 - iy < iy - y0, y1, y0)
        corner = cy * self.nx + cx
        return by, bx, refine[by, bx], self.outcome[corner], self.source[corner], (ly, lx)

    def _plan(self):
        for level, new in enumerate(self._by_level):
            if level == 0 or max(self._strides(level - 1)) > MAX_BLOCK:
                yield from self._train(level, new)
                continue
            by, bx, refine, guess, source, shape = self._guess(level, new)
            audit = ~refine & audit_mask(new, self.seed)
            yield from self._train(level, new[refine | audit])
            pending = ~refine & ~audit                    # would-be-inferred, not trained yet
            misses = new[audit & (self.outcome[new] != guess)]
            while len(misses):
                self.misses.extend((level, int(c)) for c in misses)
                # Train everything still guessed in the 3x3 blocks (of the previous lattice) around each miss:
                # this level's pending cells and earlier levels' inferred ones (not journaled yet: inferred cells
                # are journaled when the plan ends, so a miss can still correct them).
                around = np.zeros(shape, dtype=bool)
                sx, sy = self._strides(level - 1)
                around[(misses // self.nx) // sy, (misses % self.nx) // sx] = True
                around = _dilate(around)
                flood = pending & around[by, bx]
                old = np.flatnonzero(self.inferred & ~self.recorded)
                old = old[around[(old // self.nx) // sy, (old % self.nx) // sx]]
                old_guess = self.outcome[old].copy()
                self.inferred[old] = False
                yield from self._train(level, np.concatenate([new[flood], old]))
                pending &= ~flood
                misses = [new[flood & (self.outcome[new] != guess)], old[self.outcome[old] != old_guess]]
                # A corrected lattice point can make a block mixed: its pending cells are trained as well.
                by, bx, refine, guess_now, source, _ = self._guess(level, new)
                mixed = pending & refine
                yield from self._train(level, new[mixed])
                pending &= ~mixed
                misses.append(new[mixed & (self.outcome[new] != guess)])
                guess = np.where(pending, guess_now, guess)
                misses = np.concatenate(misses)
            cells = new[pending]
            self.outcome[cells] = guess[pending]
            self.source[cells] = source[pending]
            self.inferred[cells] = True
        for level, cells in enumerate(self._by_level):
            cells = cells[self.inferred[cells] & ~self.recorded[cells]]
            yield "infer", level, list(self._inferred_tiles(cells))

    def _inferred_tiles(self, cells):
        """Rows of inferred cells: the source's fields, inferred = 1, no cost; in tiles of INFERRED_TILE_CELLS."""
        for i in range(0, len(cells), INFERRED_TILE_CELLS):
            part = cells[i:i + INFERRED_TILE_CELLS]
            src = self.source[part]
            rows = {"cell": part.copy()}
            for name, values in self.fields.items():
                rows[name] = np.zeros(len(part), values.dtype) if name in ZERO_FIELDS else values[src]
            rows["inferred"] = np.ones(len(part), dtype=np.uint8)
            yield rows


def run_in_process(spec, train, plan=None, on_tile=lambda level, rows: None):
    """Drive a plan in this process, without workers (the benchmark's and the tests' form of scheduler.run):
    train(cells) -> run_cells rows; on_tile(level, rows) gets every journaled row set, trained and inferred.
    Returns the finished plan."""
    plan = plan or BoundaryPlan(spec)
    while (step := plan.next_round()) is not None:
        kind, level, payload = step
        if kind == "infer":
            for rows in payload:
                on_tile(level, rows)
            continue
        rows = train(payload)
        plan.take(rows)
        on_tile(level, plan.mark_trained(rows))
    return plan


def fill_in_spec(spec):
    """The grid sweep that fills in boundary sweep `spec`'s inferred cells: the same spec, every cell trained."""
    if sampling(spec) != "boundary":
        raise ValueError(f"fill in: the sweep's sampling is {sampling(spec)!r}; only a boundary sweep has inferred cells")
    return {k: v for k, v in spec.items() if k != "sampling"}


def copy_trained(source_path, journal):
    """Journal into `journal` (a new grid sweep, fill_in_spec of the source's) every trained cell of the boundary
    sweep whose journal is `source_path`, tile by tile, with its curves: they are the bits the grid sweep would
    train (the same spec but for sampling, mlp.py's guarantee), so the grid sweep trains only the inferred cells.
    The `inferred` field is dropped (a grid sweep has none). Returns the cells copied."""
    from .journal import read_events
    from .tiles import unpack
    copied = 0
    for ev in read_events(source_path, warn=journal.warn):
        if ev["type"] != "tile":
            continue
        rows = unpack(ev)
        keep = rows.pop("inferred", np.zeros(len(rows["cell"]), np.uint8)) == 0
        keep &= ~journal.done[rows["cell"]]  # a torn tail re-read, a tile the source recorded twice
        if not keep.any():
            continue
        rows = {k: (v if k == "trace_step" else v[keep]) for k, v in rows.items()}
        journal.append_tile(ev.get("level", 0), rows)
        copied += int(keep.sum())
    return copied
