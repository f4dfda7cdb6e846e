"""The paper's MLP: gradients, an independent reference implementation, the boundary, determinism."""
import math

import numpy as np
import pytest
import torch

from conftest import mlp_spec
from fractal_agent import mlp
from fractal_agent.spec import cell_hparams

ACTIVATIONS = ("tanh", "relu", "identity")


# ----------------------------------------------------------------------------- independent reference

def reference_run(width, activation, steps, lr_in, lr_out, seed=0, data_multiple=1.0, datapoints=None,
                  batch_size=None, init_offset=0.0, weight_decay=0.0, warmup_steps=0, offset_every_step=False):
    """DESIGN.md's definition written out from scratch for one network in plain numpy."""
    n = width
    if datapoints is not None:
        N = datapoints
    elif activation == "identity":
        N = round(data_multiple * n)
    else:
        N = round(data_multiple * (n * n + n))
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((n, n)) + (0.0 if offset_every_step else init_offset)
    W1 = rng.standard_normal((n, 1))
    X = rng.standard_normal((N, n))
    Y = rng.standard_normal((N, 1))
    batch_rng = np.random.default_rng(seed + 1)

    def act(z):
        return {"tanh": np.tanh(np.sqrt(2) * z), "relu": np.sqrt(2) * np.maximum(z, 0), "identity": z}[activation]

    def dact(z):
        return {"tanh": np.sqrt(2) * (1 - np.tanh(np.sqrt(2) * z) ** 2), "relu": np.sqrt(2) * (z > 0),
                "identity": np.ones_like(z)}[activation]

    def loss_and_grads(Xb, Yb):
        Z0 = Xb @ W0 / np.sqrt(n)
        H = act(Z0)
        err = H @ W1 / n - Yb
        dy = 2 * err / len(Xb)
        gW1 = H.T @ dy / n
        gW0 = Xb.T @ ((dy @ W1.T / n) * dact(Z0)) / np.sqrt(n)
        return np.mean(err ** 2), gW0, gW1

    losses, norms = [], []
    for t in range(steps + 1):
        if offset_every_step and t < steps:  # the notebook's `t += hparams[0]` in train_step
            W0 = W0 + init_offset
        loss, gW0, gW1 = loss_and_grads(X, Y)
        losses.append(loss)
        if t == steps:
            break
        if batch_size is not None:
            idx = batch_rng.integers(0, N, size=batch_size)
            _, gW0, gW1 = loss_and_grads(X[idx], Y[idx])
        norms.append(np.sqrt(np.sum(gW0 ** 2) + np.sum(gW1 ** 2)))
        f = (t + 1) / warmup_steps if t < warmup_steps else 1.0
        W0 = W0 - f * lr_in * (gW0 + weight_decay * W0)
        W1 = W1 - f * lr_out * (gW1 + weight_decay * W1)
    return np.array(losses), np.array(norms)


def hp(lr_in, lr_out, **kw):
    base = {"lr.input": lr_in, "lr.output": lr_out, "warmup": 0.0, "weight_decay": 0.0, "batch_size": None,
            "init_offset": 0.0, "dataset_size": None}
    base.update(kw)
    return base


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_population_matches_the_reference_definition(activation):
    spec = mlp_spec(width=5, activation=activation, steps=12)
    cells = [hp(0.05, 0.2), hp(0.3, 0.01), hp(0.1, 0.1, init_offset=0.3, weight_decay=0.05)]
    out = mlp.train_population(spec, cells)
    for k, c in enumerate(cells):
        ref_l, ref_g = reference_run(5, activation, 12, c["lr.input"], c["lr.output"],
                                     init_offset=c["init_offset"], weight_decay=c["weight_decay"])
        np.testing.assert_allclose(out["losses"][k], ref_l, rtol=1e-12)
        np.testing.assert_allclose(out["grad_norms"][k], ref_g, rtol=1e-12)


def test_data_size_rules_and_dataset_size_override():
    spec = mlp_spec(width=3, activation="identity", steps=4, model={"data_multiple": 2.0})
    assert mlp.data_size(spec["model"]) == 6
    tanh = mlp_spec(width=3, activation="tanh", steps=4, model={"data_multiple": 0.5})
    assert mlp.data_size(tanh["model"]) == 6
    assert mlp.init(tanh["model"])[2].shape == (6, 3)
    single = mlp_spec(width=3, steps=4, model={"datapoints": 1})
    assert mlp.init(single["model"])[2].shape == (1, 3)
    assert mlp.init(single["model"], dataset_size=9)[3].shape == (9, 1)
    out = mlp.train_population(single, [hp(0.2, 0.2)])
    np.testing.assert_allclose(out["losses"][0], reference_run(3, "tanh", 4, 0.2, 0.2, datapoints=1)[0], rtol=1e-12)


def test_warmup_ramps_the_lr_linearly():
    spec = mlp_spec(width=4, steps=10)
    out = mlp.train_population(spec, [hp(0.5, 0.5, warmup=0.4)])
    ref_l, _ = reference_run(4, "tanh", 10, 0.5, 0.5, warmup_steps=4)
    np.testing.assert_allclose(out["losses"][0], ref_l, rtol=1e-12)


def test_minibatch_sgd_uses_one_index_sequence_for_every_cell():
    spec = mlp_spec(width=4, activation="relu", steps=15, train={"optimizer": "sgd", "batch_size": 3})
    N = mlp.data_size(spec["model"])
    rng = np.random.default_rng(spec["model"]["seed"] + 1)
    expected = np.stack([rng.integers(0, N, size=3) for _ in range(15)])
    np.testing.assert_array_equal(mlp.minibatch_indices(spec["model"]["seed"], 15, N, 3), expected)
    cells = [hp(0.1, 0.1, batch_size=3), hp(0.5, 0.02, batch_size=3), hp(0.02, 1.0, batch_size=3)]
    out = mlp.train_population(spec, cells)
    for k, c in enumerate(cells):  # the reference draws its own batches per step: every cell agrees with it
        ref_l, ref_g = reference_run(4, "relu", 15, c["lr.input"], c["lr.output"], batch_size=3)
        np.testing.assert_allclose(out["losses"][k], ref_l, rtol=1e-12)
        np.testing.assert_allclose(out["grad_norms"][k], ref_g, rtol=1e-12)
    full = mlp.train_population(mlp_spec(width=4, activation="relu", steps=15), [hp(0.1, 0.1)])
    assert not np.allclose(full["losses"][0], out["losses"][0])  # minibatches really are used


# ----------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_matches_finite_differences(activation):
    rng = np.random.default_rng(3)
    n, N, K = 3, 7, 2
    X = torch.tensor(rng.standard_normal((N, n)))
    Y = torch.tensor(rng.standard_normal((N, 1)))
    W0 = torch.tensor(rng.standard_normal((K, n, n)))
    W1 = torch.tensor(rng.standard_normal((K, n, 1)))

    def loss(W0, W1):
        return mlp.mse(mlp.forward(X, W0, W1, activation)[2], Y)

    dW0, dW1 = mlp.backward(X, Y, W1, *mlp.forward(X, W0, W1, activation), activation)
    eps = 1e-6
    for W, grad in ((W0, dW0), (W1, dW1)):
        numeric = torch.zeros_like(W)
        for i in range(W.numel()):
            Wp, Wm = W.clone(), W.clone()
            Wp.view(-1)[i] += eps
            Wm.view(-1)[i] -= eps
            args_p = (Wp, W1) if W is W0 else (W0, Wp)
            args_m = (Wm, W1) if W is W0 else (W0, Wm)
            k = i // (W.numel() // K)  # replica of this entry (the first axis)
            numeric.view(-1)[i] = (loss(*args_p)[k] - loss(*args_m)[k]) / (2 * eps)
        np.testing.assert_allclose(grad.numpy(), numeric.numpy(), rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- the boundary

def test_small_paper_grid_trains_at_low_lr_and_diverges_at_high_lr():
    spec = mlp_spec(width=8, activation="tanh", steps=60, x=("lr.input", "log", [-1.0, 3.0], 16),
                    y=("lr.output", "log", [-1.0, 3.0], 16), criterion={"window": 10})
    from fractal_agent.outcome import summarize
    cells = [cell_hparams(spec, i) for i in range(256)]
    out = mlp.train_population(spec, cells)
    s = summarize(out["losses"], out["grad_norms"], 10, 1.0)
    trainable = s["trainable"].reshape(16, 16)  # [y, x]
    stable = s["stable"].reshape(16, 16)
    assert trainable[:4, :4].all(), "the lowest LRs must train"
    assert not stable[-4:, -4:].any(), "the highest LRs must blow up"
    assert 0.1 < trainable.mean() < 0.9


# ----------------------------------------------------------------------------- determinism

def some_cells(spec, idx):
    return [cell_hparams(spec, int(i)) for i in idx]


@pytest.mark.parametrize("activation,train", [("tanh", None), ("relu", {"optimizer": "sgd", "batch_size": 5})])
def test_a_cell_is_bit_identical_alone_twice_and_in_any_population(activation, train):
    spec = mlp_spec(width=6, activation=activation, steps=25, x=("lr.input", "log", [-1.0, 2.5], 16),
                    y=("lr.output", "log", [-1.0, 2.5], 16), train=train)
    target = 37
    alone = mlp.train_population(spec, some_cells(spec, [target]))
    again = mlp.train_population(spec, some_cells(spec, [target]))
    rng = np.random.default_rng(5)
    for K in (2, 7, 33, 256):
        others = rng.choice(256, size=K - 1, replace=True)
        pos = int(rng.integers(0, K))
        idx = np.insert(others, pos, target)
        pop = mlp.train_population(spec, some_cells(spec, idx))
        for name in ("losses", "grad_norms"):
            assert np.array_equal(alone[name][0], again[name][0], equal_nan=True)
            assert np.array_equal(pop[name][pos], alone[name][0], equal_nan=True), (K, pos, name)


def test_population_equals_single_runs():
    spec = mlp_spec(width=5, steps=30, x=("lr", "log", [-1.0, 2.0], 5), y=("init_offset", "linear", [-1.0, 1.0], 4))
    cells = some_cells(spec, range(20))
    pop = mlp.train_population(spec, cells)
    for k, c in enumerate(cells):
        one = mlp.train_population(spec, [c])
        np.testing.assert_allclose(pop["losses"][k], one["losses"][0], rtol=1e-10)
        np.testing.assert_allclose(pop["grad_norms"][k], one["grad_norms"][0], rtol=1e-10)


def test_one_population_needs_one_shape():
    spec = mlp_spec(width=3, steps=3, x=("lr", "log", [-2.0, 0.0], 2), y=("dataset_size", "linear", [4.0, 12.0], 2))
    with pytest.raises(ValueError, match="dataset_size"):
        mlp.train_population(spec, some_cells(spec, range(4)))


def test_float32_precision_trains_in_float32():
    spec = mlp_spec(width=4, steps=5, train={"precision": "float32"})
    out = mlp.train_population(spec, [hp(0.1, 0.1)])
    ref_l, _ = reference_run(4, "tanh", 5, 0.1, 0.1)
    np.testing.assert_allclose(out["losses"][0], ref_l, rtol=1e-5)
    assert not np.array_equal(out["losses"][0], ref_l)  # but not float64 bits


def test_float32_cells_are_bit_exact_across_population_sizes():
    """float32 trains in the stacked form on CPU (the shared GEMM's single-precision tiles moved a cell's bits with
    the population size), so a cell is the same bits alone, in 7 or in 64."""
    spec = mlp_spec(width=16, steps=20, x=("lr.input", "log", [-2.0, 5.0], 8), y=("lr.output", "log", [-2.0, 5.0], 8),
                    train={"precision": "float32"})
    cells = some_cells(spec, range(64))
    whole = mlp.train_population(spec, cells)
    for idx in ([9], list(range(5, 12))):
        part = mlp.train_population(spec, [cells[i] for i in idx])
        for name in ("losses", "grad_norms"):
            assert np.array_equal(part[name], whole[name][idx], equal_nan=True), (len(idx), name)


def test_chunk_size_is_bounded_by_memory():
    spec = mlp_spec(width=16, steps=100)
    per = mlp.bytes_per_replica(spec)
    assert mlp.chunk_size(spec, "cpu", memory_bytes=10 * per) == 10
    assert mlp.chunk_size(spec, "cpu", memory_bytes=1) == 1
    assert mlp.chunk_size(spec, "cpu") == mlp.CPU_MAX_POPULATION
    assert mlp.bytes_per_replica(mlp_spec(width=16, steps=100, train={"precision": "float32"})) == per // 2
    assert mlp.chunk_size(spec, "cuda", memory_bytes=1 << 50) == mlp.CUDA_MAX_POPULATION
    assert mlp.chunk_size(spec, "cuda", memory_bytes=1000 * per) == 1000


def test_init_offset_every_step_is_the_notebooks_form():
    once = mlp_spec(width=5, steps=12, x=("init_offset", "linear", [-0.5, 0.5], 2), y=("lr", "log", [-1.0, 0.0], 2))
    every = mlp_spec(width=5, steps=12, x=("init_offset", "linear", [-0.5, 0.5], 2), y=("lr", "log", [-1.0, 0.0], 2),
                     model={"init_offset_form": "every_step"})
    assert "init_offset_form" not in once["model"] and every["model"]["init_offset_form"] == "every_step"
    cells = some_cells(every, range(4))
    a, b = mlp.train_population(every, cells), mlp.train_population(once, cells)
    for k, c in enumerate(cells):
        for form, out in ((True, a), (False, b)):
            ref_l, ref_g = reference_run(5, "tanh", 12, c["lr.input"], c["lr.output"], init_offset=c["init_offset"],
                                         offset_every_step=form)
            np.testing.assert_allclose(out["losses"][k], ref_l, rtol=1e-12)
            np.testing.assert_allclose(out["grad_norms"][k], ref_g, rtol=1e-12)
        assert a["losses"][k, 0] == b["losses"][k, 0] and a["losses"][k, -1] != b["losses"][k, -1]


# The paper's shapes (width 16; N = 272, 1 and 16): a cell's bits do not depend on the population's size or
# its place in it, whatever BLAS torch links (docs/ARCHITECTURE.md "Determinism"). The population sizes of
# issue 13: 1, 2, 7, 33, 256.
PAPER_SHAPES = [("tanh", None, {}), ("tanh", None, {"datapoints": 1}), ("identity", None, {}),
                ("tanh", {"optimizer": "sgd", "batch_size": 16}, {}), ("relu", None, {})]


@pytest.mark.parametrize("activation,train,model", PAPER_SHAPES)
def test_paper_shapes_are_bit_exact_across_population_sizes(activation, train, model):
    spec = mlp_spec(width=16, activation=activation, steps=6, x=("lr.input", "log", [-1.0, 2.0], 16),
                    y=("lr.output", "log", [-1.0, 2.0], 16), train=train, model=model)
    whole = mlp.train_population(spec, some_cells(spec, range(256)))
    stacked = mlp.train_population(spec, some_cells(spec, range(256)), form="stacked")  # one GEMM per replica
    rng = np.random.default_rng(11)
    for K in (1, 2, 7, 33):
        idx = rng.choice(256, size=K, replace=False)
        pop = mlp.train_population(spec, some_cells(spec, idx))
        for name in ("losses", "grad_norms"):
            assert np.array_equal(pop[name], whole[name][idx], equal_nan=True), (K, name)
    for name in ("losses", "grad_norms"):  # the shared GEMM X [W0_1 | ... | W0_K] has each replica's own bits
        assert np.array_equal(stacked[name], whole[name], equal_nan=True), name


# Early exit (issue 23): a replica whose W1 went all NaN is dropped; its outcome is the one training it to the end gives.
@pytest.mark.parametrize("activation,train", [("tanh", None), ("relu", {"optimizer": "sgd", "batch_size": 16}),
                                              ("tanh", {"schedule": "cosine"})])
def test_early_exit_gives_the_exhaustive_outcome_and_trains_fewer_cell_steps(activation, train):
    from fractal_agent import outcome
    spec = mlp_spec(width=16, activation=activation, steps=60, x=("lr.input", "log", [-3.0, 6.0], 12),
                    y=("lr.output", "log", [-3.0, 6.0], 12), train=train, criterion={"window": 20})
    cells = some_cells(spec, range(144))
    full = mlp.train_population(spec, cells, early_exit=False)
    fast = mlp.train_population(spec, cells)
    assert (full["steps_trained"] == 60).all()
    assert fast["steps_trained"].sum() < full["steps_trained"].sum()   # early-diverging cells stop
    assert (fast["steps_trained"] < 60).any() and (fast["steps_trained"] == 60).any()
    for name in ("losses", "grad_norms"):   # traces bit for bit, NaN after divergence included
        assert np.array_equal(fast[name], full[name], equal_nan=True), name
    a, b = (outcome.summarize(r["losses"], r["grad_norms"], 20, 1.0) for r in (full, fast))
    for name in ("trainable", "stable", "score", "first_loss", "final_loss", "divergence_step", "loss_trace",
                 "grad_norm_trace"):
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    # and a dropped cell's numbers do not depend on which others were dropped with it
    one = [int(np.argmin(fast["steps_trained"]))]
    alone = mlp.train_population(spec, [cells[i] for i in one])
    assert np.array_equal(alone["losses"], full["losses"][one], equal_nan=True)


def test_fixed_batch_blocks_pad_and_stay_exact():
    """The CUDA path's fixed-count blocks (here forced on CPU with a block of 8): padding the last block
    changes nothing, and a replica's product equals its product in an unblocked batch."""
    rng = np.random.default_rng(2)
    A = torch.tensor(rng.standard_normal((19, 30, 16)))
    B = torch.tensor(rng.standard_normal((19, 16, 16)))
    blocked = mlp.bmm(A, B, block=8)
    assert blocked.shape == (19, 30, 16)
    assert torch.equal(blocked, torch.bmm(A, B))
    X = torch.tensor(rng.standard_normal((30, 16)))
    assert torch.equal(mlp.bmm(X.expand(19, -1, -1), B, block=8)[5], torch.bmm(X.expand(1, -1, -1), B[5:6])[0])


def test_the_blocked_scheme_of_cuda_gives_the_same_bits(monkeypatch):
    """The whole trainer with CUDA's fixed-count blocks (block of 8, on CPU) equals the unblocked run, whatever K."""
    spec = mlp_spec(width=16, steps=5, x=("lr.input", "log", [-1.0, 2.0], 6), y=("lr.output", "log", [-1.0, 2.0], 6))
    cells = some_cells(spec, range(36))
    plain = mlp.train_population(spec, cells)
    monkeypatch.setattr(mlp, "CPU_BMM_BLOCK", 8)
    for idx in ([4], list(range(7)), list(range(36))):   # the stacked (CUDA) form, blocked, vs CPU's shared form
        blocked = mlp.train_population(spec, [cells[i] for i in idx], form="stacked")
        for name in ("losses", "grad_norms"):
            assert np.array_equal(blocked[name], plain[name][idx], equal_nan=True), (len(idx), name)
