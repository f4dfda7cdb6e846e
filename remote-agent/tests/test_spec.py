"""Spec validation and grid maths. The fixtures are shared with the TypeScript side."""
import json
import pathlib

import numpy as np
import pytest

from fractal_agent import spec as S

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "specs"
VALID = sorted((FIXTURES / "valid").glob("*.json"))
INVALID = sorted((FIXTURES / "invalid").glob("*.json"))


def test_fixture_sets_are_not_empty():
    assert len(VALID) >= 5 and len(INVALID) >= 15


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixture_is_accepted_and_normalisation_is_idempotent(path):
    raw = json.loads(path.read_text())
    spec = S.validate(raw)
    assert S.validate(spec) == spec
    assert raw == json.loads(path.read_text()), "validate must not modify its input"
    assert spec["record"]["curves"] in (True, False)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_is_rejected_naming_the_field(path):
    case = json.loads(path.read_text())
    with pytest.raises(S.SpecError) as err:
        S.validate(case["spec"])
    assert err.value.field == case["field"]
    assert case["contains"] in err.value.message


def test_cells_are_centre_sampled_and_row_major():
    spec = S.validate(json.loads((FIXTURES / "valid" / "mlp-paper-tanh.json").read_text()))
    spec["axes"]["x"].update(range=[-3.0, 6.0], points=9)
    spec["axes"]["y"].update(range=[0.0, 2.0], points=4)
    # cell (ix=2, iy=3): x centre -3 + 2.5 * 1, y centre 0 + 3.5 * 0.5
    hp = S.cell_hparams(spec, 3 * 9 + 2)
    assert hp["lr.input"] == 10.0 ** -0.5
    assert hp["lr.output"] == 10.0 ** 1.75
    assert S.axis_centres(spec["axes"]["x"])[0] == -2.5


def test_integer_axes_round_and_lr_axis_sets_every_group():
    spec = S.validate(json.loads((FIXTURES / "valid" / "gpt-tiny-sft-lr-dataset.json").read_text()))
    hp = S.cell_hparams(spec, 0)
    assert isinstance(hp["dataset_size"], int) and hp["dataset_size"] == round(10 ** (1 + 0.5 * 1.5 / 4))
    assert len({hp[f"lr.{g}"] for g in S.GPT_GROUPS}) == 1


def test_zoom_window_keeps_float64_resolution():
    spec = S.validate(json.loads((FIXTURES / "valid" / "mlp-zoom-child.json").read_text()))
    xs = S.axis_centres(spec["axes"]["x"])
    assert len(set(xs)) == len(xs), "a 1e-10 wide window must still give distinct cell centres"
    assert all(a < b for a, b in zip(xs, xs[1:]))


@pytest.mark.parametrize("nx,ny", [(1, 1), (3, 5), (16, 16), (64, 40), (257, 3)])
def test_coarse_to_fine_covers_every_cell_once_with_a_preview_first(nx, ny):
    order, levels = S.coarse_to_fine(nx, ny)
    assert sorted(order.tolist()) == list(range(nx * ny))
    assert np.all(np.diff(levels) >= 0)
    if max(nx, ny) >= 16:
        first = order[levels == 0]
        ix, iy = first % nx, first // nx
        # The preview spans the whole map, not one corner.
        assert ix.max() >= nx // 2 and iy.max() >= min(ny - 1, ny // 2)
        assert len(first) <= (nx * ny) // 8


EXAMPLES = sorted((FIXTURES.parents[2] / "resources" / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_example_specs_are_valid(path):
    assert S.validate(json.loads(path.read_text()))["name"]


def test_there_are_shipped_examples():
    assert EXAMPLES, "resources/examples/ holds the README's first-sweep spec"
