"""Population GPT: shapes, parameter counts, causality, replica independence, init, state dicts."""
import math

import pytest
import torch

from fractal_agent.gpt import GPT, GPTConfig, GROUPS, PRESETS, masked_loss, param_group

SMALL = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=16, vocab_size=259)


def _tokens(K, B, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 259, (B, T), generator=g).unsqueeze(0).expand(K, B, T)


def test_tiny_preset_param_count_matches_formula_and_scale():
    cfg = PRESETS["tiny"]
    model = GPT(cfg, K=3)
    n = sum(p.numel() for p in model.parameters())
    assert n == 3 * cfg.num_params()
    assert 100_000 <= cfg.num_params() <= 150_000  # the ~100K two-layer model
    assert all(p.shape[0] == 3 for p in model.parameters())


def test_gpt2_124m_shape_param_count_on_meta_device():
    cfg = PRESETS["gpt2-124m"]
    model = GPT(cfg, K=1, device="meta")  # no allocation
    assert sum(p.numel() for p in model.parameters()) == 124_439_808
    assert cfg.num_params() == 124_439_808
    untied = GPTConfig(**{**cfg.to_dict(), "tie_embeddings": False})
    assert untied.num_params() == 124_439_808 + 50257 * 768


def test_forward_shape_and_block_size_error():
    model = GPT(SMALL, K=2).init_weights(0)
    assert model(_tokens(2, 3, 5)).shape == (2, 3, 5, 259)
    with pytest.raises(ValueError, match="block_size"):
        model(_tokens(2, 1, 17))


def test_causal_future_tokens_do_not_change_past_logits():
    model = GPT(SMALL, K=1).init_weights(0)
    x = _tokens(1, 2, 12).clone()
    y = x.clone()
    y[:, :, 7:] = (y[:, :, 7:] + 1) % 259
    with torch.no_grad():
        a, b = model(x), model(y)
    assert torch.equal(a[:, :, :7], b[:, :, :7])
    assert not torch.allclose(a[:, :, 7:], b[:, :, 7:])


def test_init_is_seeded_and_identical_across_replicas():
    m1 = GPT(SMALL, K=3).init_weights(5)
    m2 = GPT(SMALL, K=3).init_weights(5)
    m3 = GPT(SMALL, K=1).init_weights(6)
    for (name, p), q, r in zip(m1.named_parameters(), m2.parameters(), m3.parameters()):
        assert torch.equal(p, q), name
        assert torch.equal(p[0], p[1]) and torch.equal(p[0], p[2]), name
        if p.dim() >= 3:
            assert not torch.equal(p[0], r[0]), name


def test_replicas_are_independent_even_when_one_is_nan():
    """Replica 0's logits and gradients equal those of a lone model, whatever replica 1 holds."""
    single = GPT(SMALL, K=1).init_weights(1)
    pop = GPT(SMALL, K=3).init_weights(1)
    with torch.no_grad():
        for p in pop.parameters():  # replica 1 garbage, replica 2 a different (random) model
            p[1].fill_(float("nan"))
            p[2].add_(torch.randn_like(p[2]) * 0.1)
    x = _tokens(3, 2, 10, seed=3)
    mask = torch.ones(2, 10, dtype=torch.bool)
    y = x[0]
    lp = masked_loss(pop(x), y, mask)
    ls = masked_loss(single(x[:1]), y, mask)
    lp.sum().backward()
    ls.sum().backward()
    assert torch.isnan(lp[1]) and torch.isfinite(lp[2])
    torch.testing.assert_close(lp[0], ls[0], rtol=1e-6, atol=1e-6)
    for (name, p), q in zip(pop.named_parameters(), single.parameters()):
        assert torch.isfinite(p.grad[0]).all() and torch.isfinite(p.grad[2]).all(), name
        torch.testing.assert_close(p.grad[0], q.grad[0], rtol=1e-5, atol=1e-7, msg=name)


def test_param_groups_partition_parameters():
    model = GPT(SMALL, K=2)
    groups = model.param_groups()
    assert set(groups) == set(GROUPS)
    seen = [id(p) for ps in groups.values() for p in ps]
    assert len(seen) == len(set(seen)) == len(list(model.parameters()))
    assert [n for n, _ in model.named_parameters() if param_group(n) == "unembed"] == ["lm_head"]
    assert {param_group(n) for n, _ in model.named_parameters() if ".attn." in n} == {"attn"}
    tied = GPT(GPTConfig(**{**SMALL.to_dict(), "tie_embeddings": True}), K=1)
    assert tied.param_groups()["unembed"] == [] and tied.lm_head is None


def test_single_state_dict_round_trip_and_gpt2_names():
    model = GPT(SMALL, K=2).init_weights(3)
    sd = model.single_state_dict(0)
    assert "h.0.attn.c_attn.weight" in sd and sd["h.0.attn.c_attn.weight"].shape == (16, 48)  # Conv1D (in, out)
    other = GPT(SMALL, K=3).load_single_state_dict(sd)
    x = _tokens(3, 1, 8)
    with torch.no_grad():
        torch.testing.assert_close(other(x)[0], model(x[:2])[0], rtol=0, atol=0)
    bad = dict(sd)
    bad.pop("wpe")
    with pytest.raises(ValueError, match="missing"):
        other.load_single_state_dict(bad)


def test_flops_per_token_counts_matmuls_and_attention():
    cfg = PRESETS["gpt2-124m"]
    n_matmul = cfg.num_params() - cfg.block_size * cfg.n_embd  # tied: wte is the unembedding matmul
    assert cfg.flops_per_token(1024) == 6 * n_matmul + 12 * cfg.n_layer * cfg.n_embd * 1024
    assert cfg.flops_per_token(1024) - cfg.flops_per_token(512) == 12 * 12 * 768 * 512
    assert math.isclose(cfg.flops_per_token(1024) / 1e9, 0.8, rel_tol=0.1)  # ~0.8 GFLOP/token (nanoGPT)


def test_configs_round_trip_and_refuse_unknown_keys():
    from fractal_agent.gpt import GPTConfig
    from fractal_agent.llama import RopeConfig
    for cls in (GPTConfig, RopeConfig):
        cfg = cls()
        assert cls.from_dict(cfg.to_dict()) == cfg
        with pytest.raises(ValueError, match=rf"{cls.__name__}: unknown fields \['n_ctx'\]"):
            cls.from_dict({**cfg.to_dict(), "n_ctx": 8})
