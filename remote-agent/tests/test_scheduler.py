"""Scheduler chunking: coarse-to-fine, every cell once, never across a level or a tensor shape."""
import json
import pathlib

import numpy as np

from fractal_agent import scheduler
from fractal_agent import spec as S

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "specs" / "valid"


def load(name, **axes):
    raw = json.loads((FIXTURES / name).read_text())
    for a, points in axes.items():
        raw["axes"][a]["points"] = points
    return S.validate(raw)


def check(spec, population, workers):
    ax, ay = spec["axes"]["x"], spec["axes"]["y"]
    order, levels = S.coarse_to_fine(ax["points"], ay["points"])
    level_of = dict(zip(order.tolist(), levels.tolist()))
    out = list(scheduler.chunks(spec, order, levels, population, workers))
    cells = np.concatenate([c for _, c in out])
    assert sorted(cells.tolist()) == list(range(ax["points"] * ay["points"])), "every cell exactly once"
    assert [lv for lv, _ in out] == sorted(lv for lv, _ in out), "coarse levels are handed out first"
    for lv, c in out:
        assert 0 < len(c) <= population
        assert {level_of[i] for i in c.tolist()} == {lv}
        shapes = {tuple(S.cell_hparams(spec, int(i))[k] for k in ("dataset_size", "batch_size")) for i in c}
        assert len(shapes) == 1, "one tensor shape per chunk"
    return out


def test_lr_sweep_chunks_cover_the_grid_and_respect_the_population():
    out = check(load("mlp-paper-tanh.json", x=40, y=24), population=50, workers=2)
    assert max(len(c) for _, c in out) == 50


def test_cells_of_different_dataset_sizes_never_share_a_chunk():
    spec = load("gpt-tiny-sft-lr-dataset.json", x=12, y=10)
    assert "dataset_size" in (spec["axes"]["x"]["param"], spec["axes"]["y"]["param"])
    out = check(spec, population=8, workers=1)
    sizes = {S.cell_hparams(spec, int(c[0]))["dataset_size"] for _, c in out}
    assert len(sizes) > 1


def test_shape_keys_ignore_axes_that_do_not_change_shapes():
    spec = load("mlp-paper-tanh.json", x=8, y=8)
    assert not scheduler.shape_keys(spec, np.arange(64)).any()
