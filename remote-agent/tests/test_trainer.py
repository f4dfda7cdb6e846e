"""run_cells: grouping by shape, row order, fields, curves, and agreement with the family trainers."""
import numpy as np
import pytest

from conftest import mlp_spec
from fractal_agent import mlp, outcome
from fractal_agent.spec import cell_hparams, validate
from fractal_agent.trainer import run_cells

ROW_DTYPES = {"cell": np.int64, "trainable": np.uint8, "stable": np.uint8, "score": np.float64,
              "first_loss": np.float64, "final_loss": np.float64, "divergence_step": np.int32,
              "heldout_loss": np.float64, "ood_loss": np.float64, "wall_time": np.float64, "flops": np.float64}


def test_rows_follow_the_order_of_cells_and_match_the_family_trainer():
    spec = mlp_spec(width=4, steps=30, x=("lr.input", "log", [-1.0, 3.0], 6), y=("lr.output", "log", [-1.0, 3.0], 6))
    cells = np.random.default_rng(0).permutation(36)[:20].astype(np.int64)
    rows = run_cells(spec, cells, "cpu")
    assert set(rows) == set(ROW_DTYPES) | {"trace_step", "loss_trace", "grad_norm_trace"}
    for name, dtype in ROW_DTYPES.items():
        assert rows[name].dtype == dtype and rows[name].shape == (20,), name
    np.testing.assert_array_equal(rows["cell"], cells)

    direct = mlp.train_population(spec, [cell_hparams(spec, int(c)) for c in cells])
    s = outcome.summarize(direct["losses"], direct["grad_norms"], spec["criterion"]["window"], 1.0)
    np.testing.assert_array_equal(rows["trainable"], s["trainable"])
    np.testing.assert_array_equal(rows["stable"], s["stable"])
    np.testing.assert_array_equal(rows["score"], s["score"])
    np.testing.assert_array_equal(rows["divergence_step"], s["divergence_step"])
    np.testing.assert_array_equal(rows["final_loss"], direct["losses"][:, -1])
    np.testing.assert_array_equal(rows["loss_trace"], s["loss_trace"])
    np.testing.assert_array_equal(rows["trace_step"], np.arange(31))
    assert 0 < rows["trainable"].sum() < 20, "the range should straddle the boundary"
    assert np.isnan(rows["heldout_loss"]).all() and np.isnan(rows["ood_loss"]).all()
    assert (rows["wall_time"] > 0).all()
    # analytic FLOPs: 30 steps of forward + backward on N = 20 points, plus the final forward
    n, N = 4, 20
    fwd = 2 * N * n * n + 5 * N * n + 3 * N  # X W0, scale + activation (3), H W1 (2), loss (3)
    assert rows["flops"][0] == pytest.approx(30 * (fwd + 2 * N * n * n + 6 * N * n + 2 * N + 4 * (n * n + n)) + fwd)


def test_cells_of_different_dataset_sizes_train_in_their_own_groups():
    spec = mlp_spec(width=3, steps=15, x=("lr", "log", [-1.5, 0.5], 3), y=("dataset_size", "log", [0.5, 1.5], 3))
    cells = np.array([8, 0, 4, 5, 1, 6], dtype=np.int64)
    rows = run_cells(spec, cells, "cpu")
    for k, c in enumerate(cells):
        hp = cell_hparams(spec, int(c))
        alone = mlp.train_population(spec, [hp])
        assert mlp.init(spec["model"], hp["dataset_size"])[2].shape[0] == hp["dataset_size"]
        assert rows["final_loss"][k] == alone["losses"][0, -1]
        assert rows["flops"][k] == mlp.train_flops(spec, hp)
    assert len({cell_hparams(spec, int(c))["dataset_size"] for c in cells}) == 3


def test_curves_are_left_out_when_the_spec_says_so():
    spec = mlp_spec(width=3, steps=300, record={"curves": False})
    rows = run_cells(spec, np.arange(4), "cpu")
    assert "loss_trace" not in rows and "trace_step" not in rows
    with_curves = run_cells(mlp_spec(width=3, steps=300, record={"curves": True}), np.arange(4), "cpu")
    assert with_curves["loss_trace"].shape == (4, 256) and with_curves["trace_step"][-1] == 300
    np.testing.assert_array_equal(with_curves["score"], rows["score"])


def test_populations_larger_than_one_chunk_are_split(monkeypatch):
    spec = mlp_spec(width=3, steps=10, x=("lr.input", "log", [-1.0, 2.0], 5), y=("lr.output", "log", [-1.0, 2.0], 5))
    whole = run_cells(spec, np.arange(25), "cpu")
    monkeypatch.setattr(mlp, "CPU_MAX_POPULATION", 4)
    assert mlp.chunk_size(spec, "cpu") == 4
    split = run_cells(spec, np.arange(25), "cpu")
    for name in ("score", "final_loss", "loss_trace", "grad_norm_trace"):
        np.testing.assert_array_equal(split[name], whole[name])


def test_bad_cells_argument_is_rejected():
    with pytest.raises(ValueError, match="cells"):
        run_cells(mlp_spec(), np.zeros((2, 2), dtype=np.int64), "cpu")


def test_gpt_cells_go_to_the_sft_trainer():
    spec = validate({
        "version": 1, "name": "gpt via run_cells",
        "model": {"family": "gpt", "checkpoint": "scratch",
                  "config": {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 16, "vocab_size": 259}},
        "data": {"dataset": "synthetic:arithmetic", "size": 8, "seq_len": 16, "heldout": 2, "ood": "synthetic:sort"},
        "train": {"optimizer": "sgd", "steps": 3, "batch_size": 2, "precision": "float32"},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-3, 0], "points": 2},
                 "y": {"param": "weight_decay", "scale": "linear", "range": [0, 0.1], "points": 1}},
        "criterion": {"window": 2},
    })
    rows = run_cells(spec, np.array([1, 0]), "cpu")
    assert np.isfinite(rows["heldout_loss"]).all() and np.isfinite(rows["ood_loss"]).all()
    assert (rows["flops"] > 0).all() and rows["loss_trace"].shape == (2, 4)
    from fractal_agent import sft
    direct = sft.train_population(spec, [cell_hparams(spec, 1), cell_hparams(spec, 0)], "cpu")
    np.testing.assert_array_equal(rows["final_loss"], direct["losses"][:, -1])
    np.testing.assert_array_equal(rows["heldout_loss"], direct["heldout_loss"])


def test_a_run_shorter_than_the_window_is_judged_over_all_its_losses():
    # epochs-based SFT on a small dataset: 8 conversations, batch 4 -> a handful of steps, window 50.
    spec = validate({
        "version": 1, "name": "short epochs run",
        "model": {"family": "gpt", "checkpoint": "scratch",
                  "config": {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 16, "vocab_size": 259}},
        "data": {"dataset": "synthetic:copy", "size": 8, "seq_len": 16, "heldout": 2},
        "train": {"optimizer": "sgd", "epochs": 1, "batch_size": 4, "precision": "float32"},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-3, 3], "points": 2},
                 "y": {"param": "weight_decay", "scale": "linear", "range": [0, 0.1], "points": 1}},
        "criterion": {"window": 50},
    })
    from fractal_agent import sft
    direct = sft.train_population(spec, [cell_hparams(spec, 0), cell_hparams(spec, 1)], "cpu")
    T1 = direct["losses"].shape[1]
    assert T1 < 50
    rows = run_cells(spec, np.array([0, 1]), "cpu")
    expected = outcome.summarize(direct["losses"], direct["grad_norms"], T1, 1.0)
    np.testing.assert_array_equal(rows["trainable"], expected["trainable"])
    np.testing.assert_array_equal(rows["score"], expected["score"])


def test_multiple_choice_evals_reach_the_rows(tmp_path, monkeypatch):
    import json
    rows_in = [{"goal": "open a jar", "sol1": "twist the lid", "sol2": "eat the lid", "label": 0},
               {"goal": "dry a towel", "sol1": "hang it up", "sol2": "put it in water", "label": 0}]
    (tmp_path / "piqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows_in))
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path))
    spec = validate({
        "version": 1, "name": "evals via run_cells",
        "model": {"family": "gpt", "checkpoint": "scratch",
                  "config": {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 32, "vocab_size": 259}},
        "data": {"dataset": "synthetic:arithmetic", "size": 8, "seq_len": 16, "heldout": 2, "evals": ["piqa:2"]},
        "train": {"optimizer": "sgd", "steps": 2, "batch_size": 2, "precision": "float32"},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-3, 0], "points": 2},
                 "y": {"param": "weight_decay", "scale": "linear", "range": [0, 0.1], "points": 1}},
        "criterion": {"window": 2},
    })
    rows = run_cells(spec, np.array([0, 1]), "cpu")
    from fractal_agent import sft
    direct = sft.train_population(spec, [cell_hparams(spec, 0), cell_hparams(spec, 1)], "cpu")
    for metric in ("acc", "acc_norm"):
        got = rows[f"eval.piqa.{metric}"]
        assert got.shape == (2,) and np.isfinite(got).all()
        np.testing.assert_array_equal(got, direct["evals"]["piqa"][metric])
