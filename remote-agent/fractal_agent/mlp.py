"""The paper's MLP (Sohl-Dickstein 2024, DESIGN.md "The MLP reference model"), trained as a population.

One network: width n, input dim n, target dim 1, no biases.

    rng = numpy.random.default_rng(seed); W0 (n, n), W1 (n, 1), X (N, n), Y (N, 1) drawn in that order
    Z0 = X W0 / sqrt(n);  H = tanh(sqrt(2) Z0) | sqrt(2) relu(Z0) | Z0;  yhat = H W1 / n
    loss = mean((yhat - Y)^2)

A population is K replicas of that network, one per cell, sharing the initial weights and the data
and differing only in their hyperparameters (per-layer LR, init offset, weight decay, warmup). The
replica index is the FIRST axis of every tensor: W0 is (K, n, n), activations (K, N, n).

Exactness (docs/ARCHITECTURE.md "Determinism"): a boundary cell flips on the last bit, so a replica's
numbers must not depend on K or on its place in the population. Every product is a batched matmul
(torch.bmm) whose per-replica problem has the same shape whatever K is: the BLAS (OpenBLAS, the
reference BLAS, cuBLAS) picks its kernel and summation order from that shape. On CUDA, where cuBLAS may
also choose by batch count, products run in fixed blocks of CUDA_BMM_BLOCK replicas (the last block
padded). Reductions are fixed trees of elementwise adds (tree_sum); everything else is elementwise.
tests/test_mlp.py checks populations of 1, 2, 7, 33 and 256 cells bit for bit.

The forward and backward passes are written out by hand below; no autograd.
"""
import math

import numpy as np
import torch

from .optim import lr_schedule  # one definition of warmup and schedules for every family

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
CUDA_BMM_BLOCK = 4096  # replicas per batched product on CUDA: one batch count, so one cuBLAS kernel choice
CPU_BMM_BLOCK = 0      # none on CPU (torch runs one gemm per replica); tests set it to run the CUDA scheme on CPU


# ----------------------------------------------------------------------------- data and init

def data_size(model, dataset_size=None):
    """N, the number of training points: a dataset_size axis value, else model.datapoints, else the
    paper's rule (data_multiple x parameter count for tanh/relu, data_multiple x n for identity)."""
    if dataset_size is not None:
        return int(dataset_size)
    if model["datapoints"] is not None:
        return int(model["datapoints"])
    n = model["width"]
    return int(round(model["data_multiple"] * (n * n + n if model["activation"] != "identity" else n)))


def init(model, dataset_size=None):
    """The paper's initial weights and data, float64 numpy: W0 (n, n), W1 (n, 1), X (N, n), Y (N, 1)."""
    n, N = model["width"], data_size(model, dataset_size)
    rng = np.random.default_rng(model["seed"])
    W0 = rng.standard_normal((n, n))
    W1 = rng.standard_normal((n, 1))
    X = rng.standard_normal((N, n))
    Y = rng.standard_normal((N, 1))
    return W0, W1, X, Y


def minibatch_indices(seed, steps, N, batch_size):
    """(steps, B) int64: the B examples (drawn with replacement) of each SGD step. The same sequence
    for every cell of a sweep, from default_rng(seed + 1)."""
    rng = np.random.default_rng(seed + 1)
    return rng.integers(0, N, size=(steps, batch_size))


# ----------------------------------------------------------------------------- forward / backward

def tree_sum(x, dim):
    """Sum over `dim` by pairwise halving: a fixed sequence of elementwise adds. torch's own reductions
    pick their summation order from the tensor's shape, which would make a replica's numbers depend
    on K; elementwise adds are exact per element whatever the shape."""
    while x.shape[dim] > 1:
        m, h = x.shape[dim], x.shape[dim] // 2
        s = x.narrow(dim, 0, h) + x.narrow(dim, h, h)
        if m % 2:
            s.narrow(dim, 0, 1).add_(x.narrow(dim, m - 1, 1))
        x = s
    return x.squeeze(dim)


def bmm(A, B, block=None):
    """Per-replica matrix products A[k] @ B[k] (A or B may be a stride-0 expand of shared data). Each
    replica's product has the same shape whatever K is. `block` (default CUDA_BMM_BLOCK on CUDA, none on
    CPU, where torch runs one gemm per replica) fixes the batch count and the operands' strides as well,
    padding the last block."""
    if block is None:
        block = CUDA_BMM_BLOCK if A.device.type == "cuda" else CPU_BMM_BLOCK
    K = max(A.shape[0], B.shape[0])
    if not block or K == block:
        return torch.bmm(A, B)
    A, B = A.expand(K, -1, -1), B.expand(K, -1, -1)
    out = []
    for s in range(0, K, block):
        a, b = A[s:s + block], B[s:s + block]
        if a.shape[0] < block:                           # pad with copies of the first replica
            a = torch.cat([a, a[:1].expand(block - a.shape[0], -1, -1)])
            b = torch.cat([b, b[:1].expand(block - b.shape[0], -1, -1)])
        # contiguous operands: every call has the same shapes AND strides (a stride-0 expand or a transposed
        # view could steer cuBLAS to another kernel than the padded, materialised last block gets)
        out.append(torch.bmm(a.contiguous(), b.contiguous())[:min(block, K - s)])
    return torch.cat(out)


def tanh_(x):
    """tanh in place. On CPU numpy's: SIMD with one algorithm for every element (body and tail alike), 4x
    faster than Debian torch's scalar float64 tanh, which dominated the CPU frame; on GPU torch's."""
    if x.device.type == "cpu":
        np.tanh(x.numpy(), out=x.numpy())
        return x
    return x.tanh_()


def forward(X, W0, W1, activation):
    """X (N, n) shared; W0 (K, n, n); W1 (K, n, 1). Returns Z0 = X W0 (unscaled, (K, N, n)), H (K, N, n)
    and yhat (K, N)."""
    K, n = W0.shape[0], X.shape[1]
    Z0 = bmm(X.expand(K, -1, -1), W0)                    # the 1/sqrt(n) is folded into the activation
    if activation == "tanh":
        H = tanh_(Z0 * math.sqrt(2.0 / n))               # tanh(sqrt(2) X W0 / sqrt(n))
    elif activation == "relu":
        H = torch.relu(Z0).mul_(math.sqrt(2.0 / n))      # sqrt(2) relu(X W0 / sqrt(n))
    else:
        H = Z0 / math.sqrt(n)
    yhat = bmm(H, W1).squeeze(2) / n
    return Z0, H, yhat


def mse(yhat, Y):
    """(K,) mean squared error of each replica; yhat (K, N), Y (N, 1)."""
    r = yhat - Y.T
    return tree_sum(r * r, dim=1) / r.shape[1]


def backward(X, Y, W1, Z0, H, yhat, activation):
    """Gradients of loss = mean((yhat - Y)^2) for every replica: dW0 (K, n, n), dW1 (K, n, 1)."""
    K, N, n = H.shape
    g = ((yhat - Y.T) * (2.0 / (N * n))).unsqueeze(2)   # (K, N, 1) dloss/dyhat, times the 1/n of yhat = H W1 / n
    dW1 = bmm(H.transpose(1, 2), g)                      # (K, n, 1)
    dZ0 = g * W1.transpose(1, 2)                         # dloss/dH (K, N, n), then through the activation:
    if activation == "tanh":                             #   d tanh(s z)/dz = s (1 - tanh^2), s = sqrt(2)
        dZ0.mul_(torch.addcmul(torch.ones((), dtype=H.dtype, device=H.device), H, H, value=-1.0))
        slope = math.sqrt(2.0)
    elif activation == "relu":                           #   d s relu(z)/dz = s [z > 0]
        dZ0.mul_(Z0 > 0)
        slope = math.sqrt(2.0)
    else:
        slope = 1.0
    dW0 = bmm(X.T.expand(K, -1, -1), dZ0).mul_(slope / math.sqrt(n))   # Z0 = X W0 / sqrt(n)
    return dW0, dW1


# ----------------------------------------------------------------------------- population training

def population_shape(spec, hparams):
    """The tensor shape a cell needs (cells with equal shapes can share a population)."""
    return (hparams.get("dataset_size"), hparams.get("batch_size") if spec["train"]["optimizer"] == "sgd" else None)


def bytes_per_replica(spec, dataset_size=None):
    """Peak working memory of one replica during a step (about eight (N, n) tensors live at once)."""
    model = spec["model"]
    n, N = model["width"], data_size(model, dataset_size)
    itemsize = 8 if spec["train"]["precision"] == "float64" else 4
    return itemsize * (8 * N * n + 6 * n * n + 4 * N + 2 * spec["train"]["steps"])


CPU_MAX_POPULATION = 256      # larger CPU populations fall out of cache and run slower per cell
CUDA_MAX_POPULATION = 1 << 18  # already saturates a GPU; bounds the (K, T+1) traces summarised on the host


def chunk_size(spec, device, dataset_size=None, memory_bytes=None):
    """The largest population to train at once: what fits in `memory_bytes` (default: half the free
    GPU memory, or 8 GiB on CPU), at most CPU_MAX_POPULATION / CUDA_MAX_POPULATION. At least 1."""
    per = bytes_per_replica(spec, dataset_size)
    if memory_bytes is None:
        if torch.device(device).type == "cuda":
            free, _ = torch.cuda.mem_get_info(torch.device(device))
            memory_bytes = free // 2
        else:
            memory_bytes = 8 << 30
    k = memory_bytes // per
    k = min(k, CPU_MAX_POPULATION if torch.device(device).type == "cpu" else CUDA_MAX_POPULATION)
    return max(1, int(k))


def train_population(spec, hparams, device="cpu"):
    """Train len(hparams) replicas of the paper's MLP at once; every cell must share dataset_size and,
    for SGD, batch_size. Returns float64 numpy losses (K, T+1) and grad_norms (K, T)."""
    model, train = spec["model"], spec["train"]
    K, T = len(hparams), train["steps"]
    shapes = {population_shape(spec, hp) for hp in hparams}
    if len(shapes) != 1:
        raise ValueError(f"one population needs one (dataset_size, batch_size); got {sorted(shapes, key=str)}")
    dataset_size = hparams[0].get("dataset_size")
    dtype = TORCH_DTYPES[train["precision"]]
    dev = torch.device(device)

    def column(name):  # one hyperparameter of every replica, (K,)
        return np.array([hp[name] for hp in hparams], dtype=np.float64)

    W0_np, W1_np, X_np, Y_np = init(model, dataset_size)
    N = X_np.shape[0]
    X = torch.tensor(X_np, dtype=dtype, device=dev)
    Y = torch.tensor(Y_np, dtype=dtype, device=dev)
    offset = torch.tensor(column("init_offset"), dtype=dtype, device=dev)[:, None, None]   # (K, 1, 1)
    every_step = model.get("init_offset_form", "once") == "every_step"
    W0 = torch.tensor(W0_np, dtype=dtype, device=dev).expand(K, -1, -1).contiguous()       # (K, n, n)
    if not every_step:
        W0 += offset                                      # DESIGN.md: once, at initialisation
    W1 = torch.tensor(W1_np, dtype=dtype, device=dev).expand(K, -1, -1).contiguous()       # (K, n, 1)

    # per-update LR of each layer and each replica, (T, K, 1, 1); decoupled weight decay as in sft's SGD
    factors = lr_schedule(train["schedule"], T, column("warmup")).T
    lr0 = torch.tensor(factors * column("lr.input"), dtype=dtype, device=dev)[:, :, None, None]
    lr1 = torch.tensor(factors * column("lr.output"), dtype=dtype, device=dev)[:, :, None, None]
    wd = torch.tensor(column("weight_decay"), dtype=dtype, device=dev)[:, None, None]
    decay = bool((column("weight_decay") != 0).any())

    batches = None
    if train["optimizer"] == "sgd":
        batches = torch.tensor(minibatch_indices(model["seed"], T, N, hparams[0]["batch_size"]), device=dev)

    act = model["activation"]
    losses = torch.empty((T + 1, K), dtype=dtype, device=dev)
    grad_norms = torch.empty((T, K), dtype=dtype, device=dev)
    for t in range(T + 1):
        if every_step and t < T:
            W0 += offset                                  # the notebook's form: before every training step
        Z0, H, yhat = forward(X, W0, W1, act)
        losses[t] = mse(yhat, Y)                         # always the full-batch loss
        if t == T:
            break
        if batches is None:
            dW0, dW1 = backward(X, Y, W1, Z0, H, yhat, act)
        else:
            Xb, Yb = X[batches[t]], Y[batches[t]]
            Z0, H, yhat = forward(Xb, W0, W1, act)
            dW0, dW1 = backward(Xb, Yb, W1, Z0, H, yhat, act)
        grad_norms[t] = torch.sqrt(tree_sum((dW0 * dW0).reshape(K, -1), dim=1) + tree_sum(dW1 * dW1, dim=1)[:, 0])
        if decay:                                        # W <- W (1 - lr wd) - lr dW
            W0.mul_(1.0 - lr0[t] * wd)
            W1.mul_(1.0 - lr1[t] * wd)
        W0 -= lr0[t] * dW0
        W1 -= lr1[t] * dW1
    return {
        "losses": losses.T.double().cpu().numpy(),
        "grad_norms": grad_norms.T.double().cpu().numpy(),
    }


def train_flops(spec, hparams):
    """Analytic FLOPs one replica spends (multiply-add = 2, tanh = 1): steps x (forward + backward +
    update) plus the forward of the final loss; with SGD each step is a full-batch forward for the
    recorded loss plus forward and backward on the B-point minibatch."""
    model, train = spec["model"], spec["train"]
    n, N = model["width"], data_size(model, hparams.get("dataset_size"))

    def fwd(m):  # X W0, scale, activation, H W1, loss
        return 2 * m * n * n + 3 * m * n + 2 * m * n + 3 * m

    def bwd(m):  # dyhat, dW1, dH, activation, dW0, grad norm
        return 2 * m + 2 * m * n + m * n + 3 * m * n + 2 * m * n * n + 2 * (n * n + n)

    update = 2 * (n * n + n) + (2 * (n * n + n) if hparams.get("weight_decay") else 0)
    B = hparams["batch_size"] if train["optimizer"] == "sgd" else None
    step = fwd(N) + bwd(N) + update if B is None else fwd(N) + fwd(B) + bwd(B) + update
    return float(train["steps"] * step + fwd(N))
