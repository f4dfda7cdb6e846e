"""Per-cell outcome from loss and grad-norm traces (DESIGN.md "Per-cell outcome").

Family-neutral: the MLP and GPT trainers both hand their traces here. Everything is vectorised over
the K cells of a population (K can be 65536 or more), so there is no per-cell Python loop.

    v_t        = loss_t / loss_0, non-finite -> 1e6, clipped at 1e6
    trainable  = mean(v over the last `window` entries) < threshold
    stable     = every loss finite and < 1e6 * loss_0
    score      = -sum(v) if trainable else +sum(1/v)     (Sohl-Dickstein's convergence measure)
"""
import numpy as np

V_MAX = 1e6          # v_t ceiling: a loss this many times the initial loss counts as diverged
TRACE_POINTS = 256   # curves are downsampled to at most this many points, first and last kept


def trace_steps(steps, points=TRACE_POINTS):
    """Step indices (int32) of a downsampled trace over losses[0..steps]: first and last kept."""
    if steps + 1 <= points:
        return np.arange(steps + 1, dtype=np.int32)
    # spacing steps/(points-1) > 1, so rounding cannot produce duplicates
    return np.round(np.linspace(0, steps, points)).astype(np.int32)


def _row_sums(a):
    """Sum of each row, left to right. numpy's pairwise sum picks its blocking from the whole array's
    shape; a cell's score must not depend on which other cells were summarised with it."""
    return np.cumsum(a, axis=1)[:, -1]


def summarize(losses, grad_norms, window, threshold):
    """Outcome of K runs. losses (K, T+1): index 0 at initialisation, t after t updates;
    grad_norms (K, T): the global gradient norm taken before update t+1 (at the weights of loss_t).

    Returns a dict of arrays with K rows: trainable, stable (bool), score, first_loss, final_loss
    (float64), divergence_step (int32, -1 if never), and the downsampled curves trace_step (P,) int32,
    loss_trace (K, P) float32, grad_norm_trace (K, P) float32. No gradient is taken after the last
    update, so grad_norm_trace is NaN at step T.
    """
    losses = np.asarray(losses, dtype=np.float64)
    grad_norms = np.asarray(grad_norms, dtype=np.float64)
    if losses.ndim != 2 or losses.shape[1] < 2:
        raise ValueError(f"losses must be (K, T+1) with T >= 1, got shape {losses.shape}")
    K, T = losses.shape[0], losses.shape[1] - 1
    if grad_norms.shape != (K, T):
        raise ValueError(f"grad_norms must be (K, T) = {(K, T)} to match losses, got {grad_norms.shape}")
    if not 1 <= window <= T + 1:
        raise ValueError(f"window must be in [1, T+1 = {T + 1}], got {window}")

    loss0 = losses[:, :1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = losses / loss0
        v = np.where(np.isfinite(v), np.minimum(v, V_MAX), V_MAX)
        trainable = _row_sums(v[:, -window:]) / window < threshold
        score = np.where(trainable, -_row_sums(v), _row_sums(1.0 / v))
        blown = ~np.isfinite(losses) | (losses >= V_MAX * loss0)
    stable = ~blown.any(axis=1)
    divergence_step = np.where(stable, -1, blown.argmax(axis=1)).astype(np.int32)

    steps = trace_steps(T)
    grad_at = np.concatenate([grad_norms, np.full((K, 1), np.nan)], axis=1)  # no gradient after step T
    with np.errstate(over="ignore"):  # beyond float32's range is inf, as it should be
        loss_trace = losses[:, steps].astype(np.float32)
        grad_norm_trace = grad_at[:, steps].astype(np.float32)
    return {
        "trainable": trainable,
        "stable": stable,
        "score": score,
        "first_loss": losses[:, 0].copy(),
        "final_loss": losses[:, -1].copy(),
        "divergence_step": divergence_step,
        "trace_step": steps,
        "loss_trace": loss_trace,
        "grad_norm_trace": grad_norm_trace,
    }


def paper_colour(scores):
    """The paper's colouring: rank-equalise per image keeping the sign (negative scores -> [-1, -0.25],
    positive -> [0.25, 1]), then negate. Converged cells come out positive (blue in Spectral), darkest
    (+1) where sum(v) was largest; diverged cells negative (red), darkest (-1) where they lasted longest.
    Ties share a colour; zero stays 0 and NaN (not yet computed) stays NaN."""
    s = np.asarray(scores, dtype=np.float64)
    out = np.full(s.shape, np.nan)
    out[s == 0] = 0.0
    for sign, lo, hi in ((-1, -1.0, -0.25), (1, 0.25, 1.0)):
        mask = (s * sign) > 0
        if not mask.any():
            continue
        uniq, rank = np.unique(s[mask], return_inverse=True)  # ascending; ties share a rank
        frac = rank / (len(uniq) - 1) if len(uniq) > 1 else np.full(rank.shape, 0.5)
        out[mask] = lo + (hi - lo) * frac
    return -out
