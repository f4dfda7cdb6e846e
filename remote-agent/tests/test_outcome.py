"""Per-cell outcome (DESIGN.md "Per-cell outcome") on hand-built traces."""
import math

import numpy as np
import pytest

from fractal_agent.outcome import paper_colour, summarize, trace_steps


def traces(*rows):
    losses = np.array(rows, dtype=np.float64)
    grads = np.arange(losses.size - len(rows), dtype=np.float64).reshape(len(rows), -1) + 1.0
    return losses, grads


def test_converging_cell_is_trainable_with_minus_sum_v_score():
    losses, grads = traces([4.0, 2.0, 1.0, 0.5, 0.25])
    out = summarize(losses, grads, window=2, threshold=1.0)
    assert out["trainable"].tolist() == [True]
    assert out["stable"].tolist() == [True]
    assert out["divergence_step"].tolist() == [-1]
    assert out["score"][0] == pytest.approx(-(1 + 0.5 + 0.25 + 0.125 + 0.0625))
    assert out["first_loss"][0] == 4.0 and out["final_loss"][0] == 0.25


def test_diverging_cell_scores_sum_of_inverse_v_with_nonfinite_as_1e6():
    losses, grads = traces([1.0, 10.0, 1e7, np.inf, np.nan])
    out = summarize(losses, grads, window=2, threshold=1.0)
    assert out["trainable"].tolist() == [False]
    assert out["stable"].tolist() == [False]
    assert out["divergence_step"].tolist() == [2]          # first loss >= 1e6 * loss_0
    assert out["score"][0] == pytest.approx(1 + 0.1 + 3e-6)  # v clipped / replaced by 1e6
    assert math.isnan(out["final_loss"][0])


def test_bounded_rise_is_untrainable_but_stable_and_threshold_is_strict():
    losses, grads = traces([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1e6, 2.0])
    out = summarize(losses, grads, window=2, threshold=1.0)
    assert out["trainable"].tolist() == [False, False, False]  # mean(v) == threshold is not < threshold
    assert out["stable"].tolist() == [True, True, False]       # exactly 1e6 * loss_0 counts as blown up
    assert out["divergence_step"].tolist() == [-1, -1, 3]
    assert out["score"][0] == pytest.approx(1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5)
    # a larger window averages in earlier, smaller losses: the same trace becomes trainable at threshold 3
    assert summarize(losses, grads, window=5, threshold=3.1)["trainable"].tolist() == [True, True, False]


def test_window_counts_the_last_entries_of_the_trace():
    losses, grads = traces([1.0, 5.0, 5.0, 5.0, 0.1])
    assert summarize(losses, grads, window=1, threshold=1.0)["trainable"][0]
    assert not summarize(losses, grads, window=2, threshold=1.0)["trainable"][0]


def test_traces_are_downsampled_to_256_points_keeping_first_and_last():
    T = 1000
    rng = np.random.default_rng(0)
    losses = rng.random((3, T + 1)) + 0.5
    grads = rng.random((3, T))
    out = summarize(losses, grads, window=20, threshold=1.0)
    steps = out["trace_step"]
    assert steps.dtype == np.int32 and len(steps) == 256
    assert steps[0] == 0 and steps[-1] == T and np.all(np.diff(steps) > 0)
    assert out["loss_trace"].dtype == np.float32 and out["loss_trace"].shape == (3, 256)
    np.testing.assert_array_equal(out["loss_trace"], losses[:, steps].astype(np.float32))
    # grad norm at step s is the gradient taken at loss_s; none is taken after the last update
    np.testing.assert_array_equal(out["grad_norm_trace"][:, :-1], grads[:, steps[:-1]].astype(np.float32))
    assert np.isnan(out["grad_norm_trace"][:, -1]).all()


def test_short_traces_keep_every_step():
    assert trace_steps(10).tolist() == list(range(11))
    assert trace_steps(255).tolist() == list(range(256))
    assert len(trace_steps(256)) == 256 and trace_steps(256)[-1] == 256


def test_mismatched_shapes_are_rejected():
    losses, grads = traces([1.0, 0.5, 0.2])
    with pytest.raises(ValueError, match="grad_norms"):
        summarize(losses, grads[:, :1], window=2, threshold=1.0)
    with pytest.raises(ValueError, match="window"):
        summarize(losses, grads, window=4, threshold=1.0)


def test_paper_colour_rank_equalises_keeping_the_sign_then_negates():
    scores = np.array([-5.0, -3.0, -1.0, 2.0, 4.0, 0.0, np.nan, -3.0])
    c = paper_colour(scores)
    np.testing.assert_allclose(c[:6], [1.0, 0.625, 0.25, -0.25, -1.0, 0.0])
    assert np.isnan(c[6]) and c[7] == c[1]  # NaN stays NaN; ties share a colour


def test_paper_colour_ranges_on_a_random_image():
    rng = np.random.default_rng(1)
    scores = np.concatenate([-rng.random(1000) * 50, rng.random(700) * 10])
    c = paper_colour(scores.reshape(34, 50))
    assert c.shape == (34, 50)
    conv, div = c.reshape(-1)[:1000], c.reshape(-1)[1000:]
    assert conv.min() == 0.25 and conv.max() == 1.0      # converged: [0.25, 1], blue
    assert div.min() == -1.0 and div.max() == -0.25      # diverged: [-1, -0.25], red
    # rank equalised: a uniform spread whatever the score distribution
    assert abs(np.median(conv) - 0.625) < 0.01
