"""The paper's MLP (Sohl-Dickstein 2024, DESIGN.md "The MLP reference model"), trained as a population.

One network: width n, input dim n, target dim 1, no biases.

    rng = numpy.random.default_rng(seed); W0 (n, n), W1 (n, 1), X (N, n), Y (N, 1) drawn in that order
    Z0 = X W0 / sqrt(n);  H = tanh(sqrt(2) Z0) | sqrt(2) relu(Z0) | Z0;  yhat = H W1 / n
    loss = mean((yhat - Y)^2)

A population is K replicas of that network, one per cell, sharing the initial weights and the data
and differing only in their hyperparameters (per-layer LR, init offset, weight decay, warmup). The
replica index is the FIRST axis of every tensor: W0 is (K, n, n), activations (K, N, n).

Exactness (docs/ARCHITECTURE.md "Determinism"): a boundary cell flips on the last bit, so a replica's
numbers must not depend on K or on its place in the population. Two forms of the same arithmetic:

  stacked (CUDA)  every product is a batched matmul (torch.bmm) whose per-replica problem has the same shape
                  whatever K is: the BLAS picks its kernel and summation order from that shape. cuBLAS may also
                  choose by batch count, so products run in fixed blocks of CUDA_BMM_BLOCK replicas (the last
                  block padded).
  shared (CPU, float64, width a multiple of 8)  the data X is the same for every replica, so X W0 for the whole population is ONE GEMM
                  (N x n) . (n x K n) with the replicas' W0 side by side, and dW0 = X^T dZ0 another; only H W1
                  and its backward stay per replica (bmm on strided views). Activations live as (N, K, n). A
                  GEMM sums each output element over the inner dimension in an order set by that dimension
                  alone (OpenBLAS blocks only the outer ones by position), so every column block of the wide
                  product has the bits of the replica's own (N x n) . (n x n) product: the shared form gives
                  the stacked form's bits (tests/test_mlp.py checks both forms against each other), ~3x faster
                  on CPU, where one small GEMM per replica ran at a tenth of the core's rate. On CPU its loop
                  (_train_shared_cpu) does every small op in numpy on the same memory (the same IEEE operations in
                  the same order, so the same bits) and keeps W0 as the wide operand (n, K, n) itself.

Reductions are fixed trees of elementwise adds (tree_sum); everything else is elementwise.
tests/test_mlp.py checks populations of 1, 2, 7, 33 and 256 cells bit for bit.

Early exit: a replica whose W1 is all NaN stays all NaN (every later yhat = H W1 / n is NaN, so is every gradient
of W1), so its remaining losses and grad norms are known: NaN. train_population drops such replicas from the
population (compacts it) and fills their traces with that NaN; under full-batch GD a NaN loss makes W1 all NaN
at that step's update, so a blown-up cell costs one step past its first NaN loss instead of the rest of the run.

The forward and backward passes are written out by hand below; no autograd.
"""
import math

import numpy as np
import torch

from .optim import lr_schedule  # one definition of warmup and schedules for every family

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
CUDA_BMM_BLOCK = 4096  # replicas per batched product on CUDA: one batch count, so one cuBLAS kernel choice
CPU_BMM_BLOCK = 0      # none on CPU (torch runs one gemm per replica); tests set it to run the CUDA scheme on CPU
# The shared form only where every replica's columns of the wide GEMMs start on a GEMM tile boundary and fill whole
# tiles (OpenBLAS Haswell tiles are 4 x 8), so a replica's sums do not depend on its place in the population: width 5
# (odd offsets) gave a cell other bits alone than in a population of 20. Other widths train in the stacked form.
SHARED_WIDTH_MULTIPLE = 8
BMM_NATIVE_BELOW = 400  # torch's CPU bmm sums a problem with fewer multiply-adds than this itself, not in the BLAS


def shared_exact(width, N, batch_size=None, precision="float64"):
    """Whether the shared form gives the stacked form's bits: float64, aligned widths, and every per-replica product of
    the stacked form (X W0, X^T dZ0: rows x width^2 multiply-adds) large enough that torch hands it to the BLAS too.
    float32 trains stacked: measured at width 16, a cell of a 7-replica shared population had other bits than in a
    64-replica one (OpenBLAS's single-precision GEMM tiles differ), while the stacked form's were the same."""
    rows = min(N, batch_size or N)
    return (precision == "float64" and width % SHARED_WIDTH_MULTIPLE == 0
            and rows * width * width >= BMM_NATIVE_BELOW)


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


def tree_sum_np(x, axis=-1):
    """tree_sum for numpy arrays: the same pairwise adds in the same order (so the same bits), at numpy's per-call
    cost (~1 us) instead of torch's (~4 us); the CPU shared loop does ~20 such levels a step. Over axis 0 of a
    C-contiguous array every level adds two contiguous halves."""
    ax = axis % x.ndim
    pre = (slice(None),) * ax
    while x.shape[ax] > 1:
        m, h = x.shape[ax], x.shape[ax] // 2
        s = x[pre + (slice(0, h),)] + x[pre + (slice(h, 2 * h),)]
        if m % 2:
            s[pre + (slice(0, 1),)] += x[pre + (slice(m - 1, m),)]
        x = s
    return x[pre + (0,)]


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


class Buffers:
    """Reused full-size activation tensors of the shared form (a fresh 9 MB tensor per op costs its page
    faults every step). get(name, shape) reallocates only when the shape changes (a compacted population)."""

    def __init__(self, dtype, device):
        self.dtype, self.device, self.held = dtype, device, {}

    def get(self, name, shape):
        b = self.held.get(name)
        if b is None or b.shape != shape:
            b = self.held[name] = torch.empty(shape, dtype=self.dtype, device=self.device)
        return b


def forward_shared(X, W0, W1, activation, buf):
    """The shared form of forward(): X (N, n); W0 (K, n, n); W1 (K, n, 1). Z0 and H are (N, K, n): row i of the
    wide product X [W0_1 | ... | W0_K] holds every replica's pre-activations of data point i. yhat is (K, N)."""
    K, (N, n) = W0.shape[0], X.shape
    wide = W0.permute(1, 0, 2).reshape(n, K * n)          # (n, K n): the replicas' W0 side by side (a small copy)
    Z0 = buf.get(f"Z0.{N}", (N, K * n))
    if activation == "tanh":
        # the scale as the GEMM's alpha: fl(s * sum) is what Z0 * s gives, one pass over (N, K n) fewer; in place,
        # since only relu needs Z0 itself later
        H = tanh_(torch.addmm(Z0, X, wide, beta=0, alpha=math.sqrt(2.0 / n), out=Z0).view(N, K, n))
    else:
        Z0 = torch.mm(X, wide, out=Z0).view(N, K, n)
        H = torch.relu(Z0).mul_(math.sqrt(2.0 / n)) if activation == "relu" else Z0 / math.sqrt(n)
    yhat = torch.bmm(H.permute(1, 0, 2), W1).squeeze(2) / n   # per replica, on a strided (N, n) view
    return Z0, H, yhat


def backward_shared(X, Y, W1, Z0, H, yhat, activation, buf):
    """The shared form of backward(), the same arithmetic on (N, K, n) activations; overwrites H (tanh).
    Returns dW0 (K, n, n) (a permuted view) and dW1 (K, n, 1)."""
    K, N, n = W1.shape[0], X.shape[0], X.shape[1]
    g = ((yhat - Y.T) * (2.0 / (N * n))).unsqueeze(2)    # (K, N, 1) as in backward()
    dW1 = torch.bmm(H.permute(1, 2, 0), g)                # (K, n, 1)
    dZ0 = torch.mul(g.permute(1, 0, 2), W1.transpose(1, 2).permute(1, 0, 2), out=buf.get(f"dZ0.{N}", (N, K, n)))
    if activation == "tanh":                              # 1 - tanh^2 written over H, which is not needed again
        dZ0.mul_(torch.addcmul(torch.ones((), dtype=H.dtype, device=H.device), H, H, value=-1.0, out=H))
        slope = math.sqrt(2.0)
    elif activation == "relu":
        dZ0.mul_(Z0 > 0)
        slope = math.sqrt(2.0)
    else:
        slope = 1.0
    dW0 = torch.mm(X.T, dZ0.view(N, K * n)).view(n, K, n).permute(1, 0, 2).mul_(slope / math.sqrt(n))
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


CPU_MAX_POPULATION = 64       # larger CPU populations fall out of cache: (N, K n) activations of 64 width-16
                              # replicas are 2.2 MB; 256 ran 2x slower per cell than 64 (bench.py cheaper-maps)
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


def train_population(spec, hparams, device="cpu", form=None, early_exit=True):
    """Train len(hparams) replicas of the paper's MLP at once; every cell must share dataset_size and,
    for SGD, batch_size. Returns float64 numpy losses (K, T+1), grad_norms (K, T) and steps_trained (K,)
    int64, the updates each replica actually ran (T unless early exit dropped it).

    form: "shared" (CPU default) or "stacked" (CUDA default), the same bits (module docstring).
    early_exit: drop replicas whose W1 is all NaN; their losses and grad norms after that are NaN, exactly
    what training them to the end gives (tests/test_mlp.py checks it)."""
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

    # per-update LR of each layer and each replica, (K, T, 1, 1) (replica first, so compaction is one index);
    # decoupled weight decay as in sft's SGD
    factors = lr_schedule(train["schedule"], T, column("warmup"))
    lr0 = torch.tensor(factors * column("lr.input")[:, None], dtype=dtype, device=dev)[:, :, None, None]
    lr1 = torch.tensor(factors * column("lr.output")[:, None], dtype=dtype, device=dev)[:, :, None, None]
    wd = torch.tensor(column("weight_decay"), dtype=dtype, device=dev)[:, None, None]
    decay = bool((column("weight_decay") != 0).any())

    batches = None
    if train["optimizer"] == "sgd":
        batches = torch.tensor(minibatch_indices(model["seed"], T, N, hparams[0]["batch_size"]), device=dev)

    B = hparams[0]["batch_size"] if batches is not None else None
    act = model["activation"]
    if form is None:
        form = "shared" if dev.type == "cpu" and shared_exact(model["width"], N, B, train["precision"]) else "stacked"
    if form == "shared" and dev.type == "cpu":
        return _train_shared_cpu(X.numpy(), Y.numpy(), W0.numpy(), W1.numpy(), offset.numpy(), every_step, lr0.numpy(),
                                 lr1.numpy(), wd.numpy(), decay, None if batches is None else batches.numpy(), act, T,
                                 early_exit)
    if form == "shared":
        buf = Buffers(dtype, dev)
        fwd = lambda X_, W0_, W1_: forward_shared(X_, W0_, W1_, act, buf)
        bwd = lambda X_, Y_, W1_, *f: backward_shared(X_, Y_, W1_, *f, act, buf)
    else:
        fwd = lambda X_, W0_, W1_: forward(X_, W0_, W1_, act)
        bwd = lambda X_, Y_, W1_, *f: backward(X_, Y_, W1_, *f, act)

    losses = torch.full((T + 1, K), float("nan"), dtype=dtype, device=dev)
    grad_norms = torch.full((T, K), float("nan"), dtype=dtype, device=dev)
    steps_trained = np.full(K, T, dtype=np.int64)
    alive = torch.arange(K, device=dev)                   # column of losses of each replica still training
    for t in range(T + 1):
        if every_step and t < T:
            W0 += offset                                  # the notebook's form: before every training step
        f = fwd(X, W0, W1)
        losses[t, alive] = mse(f[2], Y)                  # always the full-batch loss
        if t == T:
            break
        if batches is None:
            dW0, dW1 = bwd(X, Y, W1, *f)
        else:
            Xb, Yb = X[batches[t]], Y[batches[t]]
            dW0, dW1 = bwd(Xb, Yb, W1, *fwd(Xb, W0, W1))
        k = W0.shape[0]
        grad_norms[t, alive] = torch.sqrt(tree_sum((dW0 * dW0).reshape(k, -1), dim=1) + tree_sum(dW1 * dW1, dim=1)[:, 0])
        if decay:                                        # W <- W (1 - lr wd) - lr dW
            W0.mul_(1.0 - lr0[:, t] * wd)
            W1.mul_(1.0 - lr1[:, t] * wd)
        W0 -= lr0[:, t] * dW0
        W1 -= lr1[:, t] * dW1
        if early_exit and t + 1 < T:
            # All-NaN W1 is absorbing: losses t+1..T and grad norms t+1..T-1 are NaN (the buffers' fill).
            # Blown-up replicas get there one update after their first NaN loss (full-batch GD).
            dead = torch.isnan(W1).flatten(1).all(dim=1)
            if bool(dead.any()):
                steps_trained[alive[dead].cpu().numpy()] = t + 1
                keep = ~dead
                alive, W0, W1, lr0, lr1, wd, offset = (x[keep] for x in (alive, W0, W1, lr0, lr1, wd, offset))
                if alive.numel() == 0:
                    break
    return {
        "losses": losses.T.double().cpu().numpy(),
        "grad_norms": grad_norms.T.double().cpu().numpy(),
        "steps_trained": steps_trained,
    }


@np.errstate(all="ignore")  # overflow to inf and NaN are results here (diverging cells), as in torch's loop
def _train_shared_cpu(X, Y, W0, W1, offset, every_step, lr0, lr1, wd, decay, batches, act, T, early_exit):
    """train_population's loop in the shared form on CPU: the same arithmetic as forward_shared(), backward_shared()
    and the torch loop, element for element (so the same bits: tests/test_mlp.py), with every small op in numpy on
    views of the same memory. The products stay torch's (addmm/mm for the wide GEMMs, bmm for H W1 and H^T g, whose
    BLAS calls set the bits) and so does 1 - H^2 (torch's addcmul is one fused multiply-add; numpy's 1 - H*H would
    round twice). A 64-replica step was ~100 torch calls of a few microseconds each besides its products; numpy's
    calls cost ~1 us, and W0 is kept as the wide GEMM's operand itself, (n, K, n) (the replicas side by side), so the
    update, decay and grad-norm passes run over contiguous memory with no per-step copy.
    Arrays in: X (N, n), Y (N, 1), W0 (K, n, n), W1 (K, n, 1), offset and wd (K, 1, 1), lr0 and lr1 (K, T, 1, 1)."""
    K, (N, n) = W0.shape[0], X.shape
    dt = X.dtype
    Xt = torch.from_numpy(X)
    scale, slope = math.sqrt(2.0 / n), (math.sqrt(2.0) if act in ("tanh", "relu") else 1.0)
    one = torch.ones((), dtype=Xt.dtype)
    pow2 = n & (n - 1) == 0   # the flat tree over a replica's n*n entries (i, j) is a tree over i, then over j
    # replica on axis 1 for W0's terms: W0 (n, K, n); offset, wd, and lr0[t] broadcast as (1, K, 1)
    W0 = np.ascontiguousarray(W0.transpose(1, 0, 2))
    offset, wd0 = offset.reshape(1, K, 1), wd.reshape(1, K, 1)
    lr0 = np.ascontiguousarray(lr0[:, :, 0, 0].T).reshape(T, 1, K, 1)
    held = {}

    def get(name, shape):  # reused buffers (a fresh 2 MB tensor per op costs its page faults every step)
        b = held.get(name)
        if b is None or b.shape != shape:
            b = held[name] = torch.empty(shape, dtype=Xt.dtype)
        return b

    def forward(Xt_, W0, W1t):
        """Z0 and H (torch, (M, K, n)) and yhat (numpy, (K, M)) as forward_shared() computes them."""
        k, M = W0.shape[1], Xt_.shape[0]
        wide = torch.from_numpy(W0).view(n, k * n)        # X [W0_1 | ... | W0_K]
        Z0 = get(f"Z0.{M}", (M, k * n))
        if act == "tanh":                                   # alpha: fl(s * sum), as forward_shared()
            torch.addmm(Z0, Xt_, wide, beta=0, alpha=scale, out=Z0)
            np.tanh(Z0.numpy(), out=Z0.numpy())
            Z0 = H = Z0.view(M, k, n)
        else:
            Z0 = torch.mm(Xt_, wide, out=Z0).view(M, k, n)
            H = torch.relu(Z0).mul_(scale) if act == "relu" else Z0 / math.sqrt(n)
        y = torch.bmm(H.permute(1, 0, 2), W1t, out=get(f"y.{M}", (k, M, 1))).numpy()[:, :, 0]
        return Z0, H, np.divide(y, n, out=y)

    def backward(Xt_, Y_, W1t, Z0, H, yhat):
        """dW0 (numpy, (n, K, n)) and dW1 (numpy, (K, n, 1)), as backward_shared()."""
        k, M = W1t.shape[0], Xt_.shape[0]
        g = np.subtract(yhat, Y_.T, out=get(f"g.{M}", (k, M)).numpy())
        gt = torch.from_numpy(np.multiply(g, 2.0 / (M * n), out=g)).unsqueeze(2)   # (K, M, 1) dloss/dyhat
        dW1 = torch.bmm(H.permute(1, 2, 0), gt).numpy()      # (K, n, 1)
        # dloss/dH = g W1^T; torch's broadcast is 5x faster here than numpy's (inner runs of n)
        dZ0 = torch.mul(gt.permute(1, 0, 2), W1t.transpose(1, 2).permute(1, 0, 2), out=get(f"dZ0.{M}", (M, k, n)))
        if act == "tanh":                                   # 1 - tanh^2 (one fused multiply-add) written over H
            dZ0.mul_(torch.addcmul(one, H, H, value=-1.0, out=H))
        elif act == "relu":
            dZ0.mul_(Z0 > 0)
        dW0 = torch.mm(Xt_.T, dZ0.view(M, k * n), out=get(f"dW0.{M}", (n, k * n))).numpy().reshape(n, k, n)
        return np.multiply(dW0, slope / math.sqrt(n), out=dW0), dW1

    losses = np.full((T + 1, K), np.nan, dtype=dt)
    grad_norms = np.full((T, K), np.nan, dtype=dt)
    steps_trained = np.full(K, T, dtype=np.int64)
    alive = np.arange(K)
    W1t = torch.from_numpy(W1)
    for t in range(T + 1):
        if every_step and t < T:
            W0 += offset
        Z0, H, yhat = forward(Xt, W0, W1t)
        k = W0.shape[1]
        r = np.subtract(yhat.T, Y, out=get("r", (N, k)).numpy())    # (N, K): mse()'s residuals, data first
        losses[t, alive] = tree_sum_np(np.multiply(r, r, out=r), axis=0) / N   # always the full-batch loss
        if t == T:
            break
        if batches is None:
            dW0, dW1 = backward(Xt, Y, W1t, Z0, H, yhat)
        else:
            Xb = torch.from_numpy(X[batches[t]])
            dW0, dW1 = backward(Xb, Y[batches[t]], W1t, *forward(Xb, W0, W1t))
        sq = np.multiply(dW0, dW0, out=get("sq", (n, k, n)).numpy())
        sq = tree_sum_np(tree_sum_np(sq, axis=0), axis=-1) if pow2 else \
            tree_sum_np(np.ascontiguousarray(sq.transpose(1, 0, 2)).reshape(k, n * n))
        w1 = dW1[:, :, 0].T
        grad_norms[t, alive] = np.sqrt(sq + tree_sum_np(w1 * w1, axis=0))
        if decay:                                            # W <- W (1 - lr wd) - lr dW
            W0 *= 1.0 - lr0[t] * wd0
            W1 *= 1.0 - lr1[:, t] * wd
        W0 -= lr0[t] * dW0
        W1 -= lr1[:, t] * dW1
        if early_exit and t + 1 < T:                         # as in train_population's torch loop
            dead = np.isnan(W1).reshape(k, -1).all(axis=1)
            if dead.any():
                steps_trained[alive[dead]] = t + 1
                keep = ~dead
                alive, W1, lr1, wd = (x[keep] for x in (alive, W1, lr1, wd))
                W0 = np.ascontiguousarray(W0[:, keep])             # the wide GEMM's operand: (n, K n) in place
                offset, wd0 = offset[:, keep], wd0[:, keep]
                lr0 = lr0[:, :, keep]
                W1t = torch.from_numpy(W1)
                if alive.size == 0:
                    break
    return {
        "losses": losses.T.astype(np.float64),
        "grad_norms": grad_norms.T.astype(np.float64),
        "steps_trained": steps_trained,
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
