"""Re-run single cells of an MLP sweep, with their loss curves, for a map that did not record curves.

A cell of the paper's MLP trains in milliseconds and is bit for bit the same whatever population it
trains in (docs/ARCHITECTURE.md "Determinism"), so the app does not need to store 2 kB of curves for
each of a map's hundreds of thousands of cells: when one is inspected, this re-trains it alone and
returns exactly what the sweep's tile held for it, curves included. Only the MLP: an SFT cell takes
seconds to minutes and is reproduced to a tolerance, not bit for bit (its curves are always recorded).

`serve` answers requests one JSON object a line, so the app keeps one process (torch imported once)
for every cell a user clicks:

    request: {"spec": SPEC, "cell": N}
    answer:  {"cell": N, "tile": TILE, "env": ENV}
                                           TILE as tiles.pack writes it: fields and curves of one cell; ENV this
                                           process's agent, torch and numpy versions and its numerics (what its
                                           bits rest on: numerics.describe), to compare with the sweep's env
             {"cell": N, "error": TEXT}    a bad request; the process keeps serving
"""
import json

import numpy as np

from . import tiles
from .spec import SpecError, cell_count, validate

FAMILIES = ("mlp",)


def rerun_cell(spec, cell, device="cpu"):
    """Train cell `cell` of the raw or validated `spec` alone; its CellResults (one row) with curves."""
    from .trainer import run_cells
    spec = validate(spec)
    family = spec["model"]["family"]
    if family not in FAMILIES:
        raise ValueError(f"re-running a cell is for the MLP (cheap and bit for bit), not model.family {family}; "
                         "an SFT cell records its curves as it trains")
    if not (isinstance(cell, int) and not isinstance(cell, bool) and 0 <= cell < cell_count(spec)):
        raise ValueError(f"cell must be an integer in 0..{cell_count(spec) - 1} (row-major: iy * nx + ix), got {cell!r}")
    spec["record"] = {"curves": True}
    return run_cells(spec, np.array([cell], dtype=np.int64), device)


def answer(line, device="cpu", env=None):
    """The answer (a dict) to one request line; `env` (see serve) goes with a tile."""
    try:
        req = json.loads(line)
    except ValueError as e:
        return {"cell": None, "error": f"a request is one JSON object a line, {{\"spec\", \"cell\"}}: {e}"}
    if not isinstance(req, dict) or set(req) != {"spec", "cell"}:
        return {"cell": None, "error": "a request is {\"spec\": SPEC, \"cell\": N}, got " + line.strip()[:200]}
    try:
        return {"cell": req["cell"], "tile": tiles.pack(rerun_cell(req["spec"], req["cell"], device)), "env": env}
    except SpecError as e:
        return {"cell": req["cell"], "error": f"spec error: {e.field or '(top level)'}: {e.message}"}
    except ValueError as e:
        return {"cell": req["cell"], "error": str(e)}


def serve(lines, out, device="cpu"):
    """Answer every request line of `lines` on `out` (flushed per answer) until the input ends."""
    import torch
    from . import AGENT_VERSION
    from .numerics import describe
    torch.set_num_threads(1)  # one small cell gains nothing from threads, and a laptop's other cores stay free
    here = {"agent": AGENT_VERSION, "torch": torch.__version__, "numpy": np.__version__, "gpus": [],
            "numerics": describe(torch)}
    for line in lines:
        if line.strip():
            out.write(json.dumps(answer(line, device, here)) + "\n")
            out.flush()
