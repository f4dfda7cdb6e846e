"""Population SFT: population == single runs, determinism, optimisers, schedules, clipping,
checkpoints (shipped tiny-gpt, FRACTAL_AGENT_RESOURCES), pretraining."""
import json

import numpy as np
import pytest
import torch

from fractal_agent import sft
from fractal_agent.gpt import GPT, GPTConfig
from fractal_agent.pretrain import main as pretrain_main
from fractal_agent.spec import cell_hparams, validate


def _spec(**over):
    raw = {
        "version": 1, "name": "test",
        "model": {"family": "gpt", "checkpoint": "scratch",
                  "config": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 32, "vocab_size": 259}},
        "data": {"dataset": "synthetic:arithmetic,reverse", "size": 24, "seq_len": 16, "heldout": 4,
                 "ood": "synthetic:sort"},
        "train": {"optimizer": "adamw", "steps": 6, "batch_size": 4, "schedule": "cosine", "warmup": 0.2,
                  "weight_decay": 0.1, "grad_clip": 1.0, "precision": "float32"},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-4, -1], "points": 4},
                 "y": {"param": "warmup", "scale": "linear", "range": [0, 0.5], "points": 2}},
        "criterion": {"window": 3},
    }
    for key, value in over.items():
        section, field = key.split("__")
        if section == "model" and value is None:
            del raw[section][field]
        else:
            raw[section][field] = value
    return validate(raw)


FIELDS = ("losses", "grad_norms", "heldout_loss", "ood_loss", "flops")


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_population_equals_single_runs(optimizer):
    spec = _spec(train__optimizer=optimizer)
    hps = [cell_hparams(spec, i) for i in (1, 3, 6)]  # different LRs and warmups
    pop = sft.train_population(spec, hps, "cpu")
    assert pop["losses"].shape == (3, 7) and pop["grad_norms"].shape == (3, 6)
    assert pop["heldout_loss"].shape == pop["ood_loss"].shape == pop["flops"].shape == (3,)
    for k, hp in enumerate(hps):
        one = sft.train_population(spec, [hp], "cpu")
        for f in FIELDS:  # bit for bit on CPU (docs/ARCHITECTURE.md "Determinism")
            np.testing.assert_array_equal(pop[f][k], one[f][0], err_msg=f)
    assert not np.allclose(pop["losses"][0], pop["losses"][2])  # the cells really differ
    np.testing.assert_array_equal(pop["losses"][:, 0], pop["losses"][0, 0])  # shared init and first batch


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_early_exit_drops_blown_up_replicas_with_the_exhaustive_results(optimizer, tmp_path):
    """Replicas whose weights went all NaN leave the step loop; every field, evaluations included, is
    what training them to the end gives, bit for bit, and the kept replicas are not disturbed."""
    rows = [{"goal": f"goal {i}", "sol1": "twist the lid", "sol2": "eat the lid", "label": i % 2} for i in range(6)]
    (tmp_path / "piqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = _spec(train__optimizer=optimizer, train__steps=30, train__grad_clip=None, train__schedule="constant",
                 train__warmup=0.0, data__evals=["piqa"], data__evals_dir=str(tmp_path))
    base = cell_hparams(spec, 0)
    lrs = (1e-3, 3.0, 1e3, 1e6) if optimizer == "sgd" else (1e-3, 1.0, 1e2, 1e4)
    hps = [{**base, **{k: lr for k in base if k.startswith("lr.")}} for lr in lrs]
    early = sft.train_population(spec, hps, "cpu", early_exit=True)
    full = sft.train_population(spec, hps, "cpu", early_exit=False)
    assert (full["steps_trained"] == 30).all()
    assert early["steps_trained"][0] == 30 and (early["steps_trained"] < 30).sum() >= 2, early["steps_trained"]
    for f in FIELDS:
        np.testing.assert_array_equal(early[f], full[f], err_msg=f)  # NaN where NaN, the same bits elsewhere
    for metric in ("acc", "acc_norm"):
        np.testing.assert_array_equal(early["evals"]["piqa"][metric], full["evals"]["piqa"][metric])
    dropped = early["steps_trained"] < 30
    assert np.isnan(early["losses"][dropped, -1]).all() and np.isfinite(early["losses"][0]).all()


def test_early_exit_keeps_the_whole_population_model_for_samples():
    spec = _spec(train__optimizer="sgd", train__steps=12, train__grad_clip=None, train__schedule="constant",
                 train__warmup=0.0)
    base = cell_hparams(spec, 0)
    hps = [{**base, **{k: lr for k in base if k.startswith("lr.")}} for lr in (1e6, 1e-3)]
    r = sft.train_population(spec, hps, "cpu", keep_model=True)
    assert r["steps_trained"][0] < 12 and r["model"].K == 2
    sd_dead, sd_live = r["model"].single_state_dict(0), r["model"].single_state_dict(1)
    assert any(torch.isnan(v).all() for v in sd_dead.values())
    assert all(torch.isfinite(v).all() for v in sd_live.values())


def test_repeated_run_is_identical_and_ood_is_nan_when_unset():
    spec = _spec(data__ood=None)
    hps = [cell_hparams(spec, i) for i in (0, 5)]
    a = sft.train_population(spec, hps, "cpu")
    b = sft.train_population(spec, hps, "cpu")
    for f in FIELDS:
        np.testing.assert_array_equal(a[f], b[f], err_msg=f)
    assert np.isnan(a["ood_loss"]).all() and np.isfinite(a["heldout_loss"]).all()


def test_float64_precision_agrees_with_float32():
    results = []
    for precision in ("float64", "float32"):
        spec = _spec(train__precision=precision)
        results.append(sft.train_population(spec, [cell_hparams(spec, i) for i in (2, 7)], "cpu"))
    r64, r32 = results
    np.testing.assert_allclose(r64["losses"], r32["losses"], rtol=1e-4)
    assert not np.array_equal(r64["losses"], r32["losses"])  # it really ran in another precision


def test_cells_of_one_call_must_share_shapes():
    spec = _spec()
    hps = [cell_hparams(spec, 0), {**cell_hparams(spec, 1), "batch_size": 8}]
    with pytest.raises(ValueError, match="must share batch_size"):
        sft.train_population(spec, hps, "cpu")


def test_steps_from_epochs_and_tokens():
    spec = _spec(train__steps=None, train__epochs=2.0)
    one = sft.train_population(spec, [cell_hparams(spec, 0)], "cpu")
    train, _ = sft._split(spec["data"]["dataset"], 24, 4, 0)
    rows = sft.D.pack(train, 16)[0].shape[0]
    assert one["steps"] == 2 * -(-rows // 4)
    hp = {**cell_hparams(spec, 0), "tokens": 200}
    assert sft.train_population(spec, [hp], "cpu")["steps"] == 4  # ceil(200 / (4 * 16))


def test_frozen_groups_do_not_move():
    """Only norm trains: absurd LRs on every other group must leave the loss finite and sane."""
    spec = _spec(model__trainable=["norm"], train__grad_clip=None)
    hp = {**cell_hparams(spec, 0), **{f"lr.{g}": 1e6 for g in ("attn", "mlp", "embed", "unembed")}}
    frozen = sft.train_population(spec, [hp], "cpu")["losses"][0]
    assert np.isfinite(frozen).all() and frozen.max() < 2 * frozen[0]
    spec_all = _spec(train__grad_clip=None)
    assert not (sft.train_population(spec_all, [hp], "cpu")["losses"][0][-1] < 2 * frozen[0])


def test_tiny_checkpoint_sane_lr_learns_absurd_lr_diverges():
    spec = _spec(model__checkpoint="tiny", model__config=None, train__steps=25, train__schedule="constant",
                 train__warmup=0.0, train__grad_clip=None, train__batch_size=4,
                 data__dataset="synthetic:copy,reverse", data__size=64, data__seq_len=32, data__heldout=8)
    base = cell_hparams(spec, 0)
    hps = [{**base, **{f"lr.{g}": lr for g in ("attn", "mlp", "embed", "unembed", "norm")}}
           for lr in (0.0, 3e-3, 1e4)]
    r = sft.train_population(spec, hps, "cpu")
    still, sane, absurd = r["heldout_loss"]
    assert sane < still - 0.2, (still, sane)
    assert np.isfinite(r["ood_loss"][:2]).all()
    last = r["losses"][2, -1]
    assert not np.isfinite(last) or last > 10 * r["losses"][2, 0]


def test_tiny_checkpoint_is_shipped_small_and_documented():
    path = sft.resources_dir() / "tiny-gpt"
    cfg, sd = sft.load_checkpoint(path)
    assert (path / "model.pt").stat().st_size < 2_000_000
    assert sum(v.numel() for v in sd.values()) == cfg.num_params()
    meta = json.loads((path / "meta.json").read_text())
    assert meta["heldout_loss_final"] < meta["heldout_loss_initial"] - 1.0


def test_resources_env_var_locates_checkpoint(tmp_path, monkeypatch):
    cfg = GPTConfig(n_layer=1, n_head=1, n_embd=8, block_size=16)
    model = GPT(cfg).init_weights(7)
    sft.save_checkpoint(tmp_path / "tiny-gpt", cfg, model.single_state_dict(), {"note": "test"})
    monkeypatch.setenv("FRACTAL_AGENT_RESOURCES", str(tmp_path))
    loaded = sft.build_model({"checkpoint": "tiny"}, 2, "cpu", torch.float32)
    assert loaded.cfg == cfg
    torch.testing.assert_close(loaded.wte[1], model.wte[0], rtol=0, atol=0)
    monkeypatch.setenv("FRACTAL_AGENT_RESOURCES", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="FRACTAL_AGENT_RESOURCES"):
        sft.build_model({"checkpoint": "tiny"}, 1, "cpu", torch.float32)


@pytest.mark.parametrize("ckpt, error, message", [
    ("hf:no-such-org/no-such-model", RuntimeError, "hub is unreachable|HTTP|no config.json"),
    ("nanochat:/nonexistent/d20", FileNotFoundError, "no model_<step>.pt")])
def test_missing_hf_and_nanochat_checkpoints_fail_clearly(ckpt, error, message, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # offline here: the download attempt fails fast
    with pytest.raises(error, match=message):
        sft.build_model({"checkpoint": ckpt}, 1, "cpu", torch.float32)
    assert list(tmp_path.iterdir()) == []  # a failed download leaves nothing behind


def test_schedules():
    cos = sft.lr_schedule("cosine", 100, [0.1])[0]
    np.testing.assert_allclose(cos[:10], np.arange(1, 11) / 10)  # linear warmup to 1
    assert cos[10] == 1.0 and np.all(np.diff(cos[10:]) < 0) and cos[-1] < 1e-3
    wsd = sft.lr_schedule("wsd", 100, [0.0])[0]
    assert np.all(wsd[:80] == 1.0) and np.all(np.diff(wsd[80:]) < 0) and wsd[-1] == pytest.approx(0.05)
    const = sft.lr_schedule("constant", 50, [0.0, 0.2])
    assert const.shape == (2, 50) and np.all(const[0] == 1) and const[1, 9] == 1 and const[1, 0] == 0.1


def test_clipping_caps_each_replica_separately():
    p = torch.zeros(2, 3, 4, requires_grad=True)
    q = torch.zeros(2, 5, requires_grad=True)
    p.grad = torch.full((2, 3, 4), 1.0)
    q.grad = torch.full((2, 5), 1.0)
    p.grad[1] *= 0.01
    q.grad[1] *= 0.01
    norm = sft.clip_grads([p, q], max_norm=1.0)
    np.testing.assert_allclose(norm.numpy(), [17 ** 0.5, 0.01 * 17 ** 0.5], rtol=1e-6)
    after = (p.grad.pow(2).flatten(1).sum(1) + q.grad.pow(2).sum(1)).sqrt()
    np.testing.assert_allclose(after.numpy(), [1.0, 0.01 * 17 ** 0.5], rtol=1e-5)


def test_adamw_matches_torch_adamw_per_replica():
    torch.manual_seed(0)
    w0 = torch.randn(4, 3, dtype=torch.float64)
    ref = [torch.nn.Parameter(w0.clone()) for _ in range(3)]
    refopt = [torch.optim.AdamW([r], lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=wd)
              for r, lr, wd in zip(ref, (1e-2, 3e-3, 0.0), (0.1, 0.0, 0.1))]
    pop = torch.nn.Parameter(w0.clone().expand(3, 4, 3).contiguous())
    opt = sft.PopulationAdamW({"mlp": [pop]}, (0.9, 0.95))
    for _ in range(5):
        grad = torch.randn(4, 3, dtype=torch.float64)
        for r, o in zip(ref, refopt):
            r.grad = grad.clone()
            o.step()
        pop.grad = grad.expand(3, 4, 3).clone()
        opt.step({"mlp": torch.tensor([1e-2, 3e-3, 0.0], dtype=torch.float64)},
                 torch.tensor([0.1, 0.0, 0.1], dtype=torch.float64))
    assert torch.equal(pop.detach()[2], w0)  # LR 0 leaves the weights exactly alone
    for k in range(3):
        torch.testing.assert_close(pop.detach()[k], ref[k].detach(), rtol=1e-12, atol=1e-14)


def test_pretrain_writes_loadable_checkpoint(tmp_path):
    out = tmp_path / "ckpt"
    assert pretrain_main(["--out", str(out), "--steps", "3", "--seed", "1", "--batch-size", "2",
                          "--seq-len", "16", "--n-embd", "16", "--n-head", "2", "--block-size", "32"]) == 0
    cfg, sd = sft.load_checkpoint(out)
    assert cfg.n_embd == 16 and cfg.block_size == 32
    model = GPT(cfg, K=1).load_single_state_dict(sd)
    assert model(torch.zeros(1, 1, 4, dtype=torch.int64)).shape == (1, 1, 4, 259)
    assert json.loads((out / "meta.json").read_text())["steps"] == 3
