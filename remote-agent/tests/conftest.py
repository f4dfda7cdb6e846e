"""Shared pytest helpers for the remote agent's tests.

Makes `fractal_agent` importable however pytest is started (from the repo root or remote-agent/),
and builds small validated specs so each test names only what it varies.
"""
import copy
import json
import pathlib
import sys

AGENT_DIR = pathlib.Path(__file__).resolve().parents[1]
if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))

import fractal_agent  # noqa: E402,F401 -- pins the BLAS kernel (numerics.py) before any test imports torch

FIXTURES = AGENT_DIR.parent / "test" / "fixtures" / "specs"


def fixture_spec(name):
    """The raw (unvalidated) JSON of test/fixtures/specs/valid/<name>.json."""
    return json.loads((FIXTURES / "valid" / f"{name}.json").read_text())


def mlp_spec(width=4, activation="tanh", steps=20, x=("lr.input", "log", [-2.0, 1.0], 4),
             y=("lr.output", "log", [-2.0, 1.0], 4), model=None, train=None, criterion=None, record=None):
    """A validated small MLP sweep. Axes are (param, scale, range, points)."""
    from fractal_agent.spec import validate

    def axis(a):
        return {"param": a[0], "scale": a[1], "range": list(a[2]), "points": a[3]}

    raw = {
        "version": 1,
        "name": "test mlp",
        "model": {"family": "mlp", "width": width, "activation": activation, "seed": 0, **(model or {})},
        "train": {"steps": steps, **(train or {})},
        "axes": {"x": axis(x), "y": axis(y)},
        "criterion": {"window": min(5, steps + 1), "threshold": 1.0, **(criterion or {})},
    }
    if record is not None:
        raw["record"] = record
    return validate(copy.deepcopy(raw))


def tiny_spec(nx=8, ny=8, steps=50):
    """The raw JSON of a fast MLP sweep (width 4) for tests that run the agent's processes."""
    return {
        "version": 1, "name": "tiny",
        "model": {"family": "mlp", "width": 4, "activation": "tanh", "seed": 0},
        "train": {"optimizer": "gd", "steps": steps},
        "axes": {"x": {"param": "lr.input", "scale": "log", "range": [-1, 2], "points": nx},
                 "y": {"param": "lr.output", "scale": "log", "range": [-1, 2], "points": ny}},
    }
