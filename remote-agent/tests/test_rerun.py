"""`rerun`: one MLP cell trained alone gives, bit for bit, what the sweep recorded for it, curves included;
the command answers request lines until its input ends and survives bad requests."""
import json
import subprocess

import numpy as np
import pytest

from conftest import mlp_spec
from fractal_agent import tiles
from fractal_agent.rerun import rerun_cell
from fractal_agent.scheduler import run as run_sweep
from test_base_metrics import GPT_SPEC
from test_cli import PYTHON, agent_env

# Wide enough that the map holds converged, slowly diverging and blown-up cells.
SPEC = mlp_spec(width=6, steps=60, x=("lr.input", "log", [-1.0, 4.0], 6), y=("lr.output", "log", [0.0, 2.5], 6),
                record={"curves": False})


def sweep_results(spec):
    """The whole map as the agent's scheduler trains it (one worker, its own populations), by cell."""
    rows = {}

    def on_tile(level, results):  # trace_step is shared by the tile's cells; every other result has a row each
        for k, c in enumerate(results["cell"]):
            rows[int(c)] = {name: v if name == "trace_step" else v[k] for name, v in results.items()}
    with_curves = {**spec, "record": {"curves": True}}
    cells = np.arange(36, dtype=np.int64)
    run_sweep(with_curves, cells, np.zeros(36, dtype=np.int64), ["cpu"], on_tile, lambda: False, lambda: None)
    return rows


def test_a_cell_rerun_alone_is_the_sweep_s_cell_bit_for_bit():
    rows = sweep_results(SPEC)
    trainable = {int(rows[c]["trainable"]) for c in rows}
    stable = {int(rows[c]["stable"]) for c in rows}
    assert trainable == {0, 1} and stable == {0, 1}, "the map should hold both outcomes"
    for cell in (0, 17, 35, *[c for c in rows if not rows[c]["stable"]][:2]):
        got = rerun_cell(SPEC, cell)
        want = rows[cell]
        for name in ("trainable", "stable", "score", "first_loss", "final_loss", "divergence_step"):
            assert np.array_equal(got[name][0], want[name], equal_nan=True), (cell, name, got[name][0], want[name])
        assert np.array_equal(got["trace_step"], want["trace_step"])
        for name in ("loss_trace", "grad_norm_trace"):
            assert np.array_equal(got[name][0], want[name], equal_nan=True), (cell, name)


def test_only_the_mlp_and_only_cells_of_the_map():
    from fractal_agent.spec import validate
    with pytest.raises(ValueError, match="for the MLP .*not model.family gpt"):
        rerun_cell(validate(GPT_SPEC), 0)
    with pytest.raises(ValueError, match=r"cell must be an integer in 0\.\.35 .*got 36"):
        rerun_cell(SPEC, 36)


def test_the_command_answers_each_request_line_and_keeps_serving_after_a_bad_one():
    requests = [{"spec": SPEC, "cell": 7}, "not json", {"spec": {**SPEC, "version": 9}, "cell": 0},
                {"spec": SPEC, "cell": 99}, {"spec": SPEC, "cell": 8}]
    text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n"
    r = subprocess.run([PYTHON, "-m", "fractal_agent", "rerun"], input=text, env=agent_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert [a["cell"] for a in answers] == [7, None, 0, 99, 8]
    assert "one JSON object a line" in answers[1]["error"]
    assert answers[2]["error"].startswith("spec error: version")
    assert "0..35" in answers[3]["error"]
    for a in (answers[0], answers[4]):
        got = tiles.unpack(a["tile"])
        want = rerun_cell(SPEC, a["cell"])
        assert got["cell"].tolist() == [a["cell"]]
        assert np.array_equal(got["final_loss"], want["final_loss"], equal_nan=True)
        assert np.array_equal(got["loss_trace"], want["loss_trace"], equal_nan=True)
