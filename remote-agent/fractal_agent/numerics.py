"""The CPU numerics a map's bits depend on: pinned for the agent's process, and described for the sweep's record.

A boundary cell flips on the last bit, and OpenBLAS (its DYNAMIC_ARCH builds: Debian's, and the one pip's numpy
bundles) picks its GEMM kernel by CPU type when the library loads. The Haswell (AVX2) kernel and the SkylakeX /
Cooperlake (AVX-512) ones block and sum differently: the same 24^2 paper-MLP sweep on an AVX-512 CPU with its own
kernel and with Haswell's differed in the final loss of 381 of 576 cells. So before torch or numpy loads a BLAS,
`pin` fixes the kernel of this process (and of the workers it spawns, which inherit the environment):

    OPENBLAS_CORETYPE=Haswell   OpenBLAS's AVX2 + FMA kernels, on every x86-64 CPU that has AVX2 and FMA
    MKL_CBWR=AVX2               MKL's AVX2 code path (Intel's conditional numerical reproducibility), for torch
                                builds whose CPU BLAS is MKL (pip's x86 wheels)
    ATEN_CPU_CAPABILITY=avx2    torch's own vectorised kernels: its AVX2 ones (torch 2.x has AVX-512 ones too)

What else the MLP's bits rest on, measured on this project's machines (docs/ARCHITECTURE.md "Determinism"):
numpy's float64 tanh gives the same bits through its AVX2 and AVX-512 paths (numpy 1.24 and 2.4) but not through
its SSE baseline, and Debian torch's elementwise kernels give the same bits at avx2 and at its highest level. So
the guarantee is for x86-64 CPUs with AVX2 and FMA (x86-64-v3 and v4); on older ones, on aarch64, and where the BLAS
is another build, nothing is pinned and `describe` says so.
"""
import os
import platform
import sys

OPENBLAS_CORE = "Haswell"
# OpenBLAS splits a GEMM above 2^18 multiply-adds between its threads, and the split moves edge tiles: the MLP's
# shared GEMM X [W0_1 | ... | W0_K] (mlp.py) gave other bits for some replicas at K >= 200 (width 6) with 2 threads.
# One BLAS thread on every machine; the agent runs one worker process per core anyway.
# One OpenMP thread too: torch's CPU ops on the MLP's small tensors gain nothing from a pool, and its idle
# threads spin at every barrier. Measured here (2-core EPYC, `bench.py --only mlp-rate`): 21k cell-steps/s
# with libgomp's default pool against 37k with one thread; on a loaded machine a daemon test ran 70 s against 21 s.
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
PINS = {"OPENBLAS_CORETYPE": OPENBLAS_CORE, "MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", **THREADS}
PIN_NEEDS = frozenset({"avx2", "fma"})  # what the pinned kernels execute; without them they would fault

# x86-64 micro-architecture levels (the psABI's), by the /proc/cpuinfo flags that tell them apart
X86_LEVELS = (
    ("x86-64-v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
    ("x86-64-v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe"}),
    ("x86-64-v2", {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}),
)


def cpu_info(cpuinfo="/proc/cpuinfo"):
    """(model name, set of flags) of the first CPU in /proc/cpuinfo; (platform.processor(), empty) where there is none."""
    model, flags = None, set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
                if model is not None and flags:
                    break
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def isa_level(machine, flags):
    """The x86-64 level (x86-64-v1 … v4) for an x86-64 CPU, else the machine name (aarch64, arm64, …)."""
    if machine.lower() not in ("x86_64", "amd64"):
        return machine
    for level, needs in X86_LEVELS:
        if needs <= flags:
            return level
    return "x86-64-v1"


def pinnable(machine=None, flags=None):
    """Whether this CPU runs the pinned kernels: x86-64 with AVX2 and FMA."""
    machine = machine or platform.machine()
    if flags is None:
        flags = cpu_info()[1]
    return machine.lower() in ("x86_64", "amd64") and PIN_NEEDS <= flags


# What `pin` did in this process: the variables it set, or why it set none (read by `describe`).
PINNED = {"set": {}, "why_not": "pin() has not run"}


def pin(environ=os.environ):
    """Fix the BLAS kernel choice for this process and its children. Runs when the package is imported, before
    anything loads torch or numpy; later it cannot change a library already loaded, and says so in PINNED."""
    loaded = [m for m in ("torch", "numpy") if m in sys.modules]
    if loaded:
        PINNED.update(set={}, why_not=f"{' and '.join(loaded)} loaded before the agent could pin the BLAS kernel")
    elif not pinnable():
        environ.update(THREADS)  # the kernel cannot be pinned here, but the thread split can
        PINNED.update(set=dict(THREADS), why_not=f"not pinned on {platform.machine()} without AVX2 and FMA")
    else:
        environ.update(PINS)
        PINNED.update(set=dict(PINS), why_not=None)
    return PINNED


def _blas_libraries():
    """Paths of the BLAS libraries mapped into this process (Linux: /proc/self/maps), for their own version query."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if "blas" in os.path.basename(p).lower())


def blas_info(torch):
    """{"library", "kernel"} of torch's CPU BLAS: OpenBLAS asked for its version and the core it picked; else the
    BLAS torch names in its build configuration (MKL is linked into torch, its code path is MKL_CBWR's)."""
    import ctypes
    for path in _blas_libraries():
        lib = ctypes.CDLL(path)  # already loaded: this returns the loaded library
        if hasattr(lib, "openblas_get_corename"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            config = lib.openblas_get_config().decode()
            return {"library": " ".join(config.split()[:2]), "kernel": lib.openblas_get_corename().decode(),
                    "config": config, "path": path}
    config = torch.__config__.show()
    name = next((line.split("=", 1)[1].strip() for line in config.splitlines() if "BLAS_INFO=" in line), None)
    if name == "mkl" or torch.backends.mkl.is_available():
        return {"library": "MKL", "kernel": f"MKL_CBWR={os.environ['MKL_CBWR']}" if os.environ.get("MKL_CBWR") else "auto",
                "config": None, "path": None}
    return {"library": name or "unknown", "kernel": "unknown", "config": None, "path": None}


def numpy_simd():
    """The widest SIMD level numpy dispatches to here (its tanh is the MLP's activation on CPU)."""
    import numpy
    try:
        features = numpy._core._multiarray_umath.__cpu_features__  # numpy 2
    except AttributeError:
        features = numpy.core._multiarray_umath.__cpu_features__   # numpy 1.x
    for level in ("AVX512_SKX", "AVX512F", "AVX2", "SSE42", "ASIMD"):
        if features.get(level):
            return level
    return "baseline"


def describe(torch):
    """What a CPU map's bits depend on, for the sweep's env and the app's recompute check.

    `key` is equal on two machines exactly when the guarantee says their CPU maps are the same bits: the same
    torch and numpy builds, the same BLAS library and kernel, both AVX2+FMA CPUs (AVX2 and AVX-512 alike)."""
    import numpy
    machine = platform.machine()
    model, flags = cpu_info()
    blas = blas_info(torch)
    level = isa_level(machine, flags)
    capability = (torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu")
                  and hasattr(torch.backends.cpu, "get_cpu_capability") else os.environ.get("ATEN_CPU_CAPABILITY"))
    # Which SIMD family the elementwise and tanh kernels take: AVX2 and AVX-512 give the same bits (measured), SSE not.
    simd = "AVX2+FMA" if pinnable(machine, flags) else level
    key = [f"torch {torch.__version__}", f"numpy {numpy.__version__}", f"{blas['library']} {blas['kernel']} kernel",
           f"{machine} {simd}"]
    if capability and capability.lower() != "avx2":  # torch 2.x's AVX-512 kernels: not measured against AVX2's
        key.append(f"torch CPU {capability}")
    return {
        "cpu": model, "machine": machine, "isa": level,
        "blas": blas["library"], "blas_kernel": blas["kernel"], "blas_config": blas["config"],
        "pinned": PINNED["set"], "not_pinned": PINNED["why_not"],
        "torch_cpu_capability": capability, "numpy_simd": numpy_simd(),
        "key": " · ".join(key),
    }
