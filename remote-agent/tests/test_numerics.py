"""The guarantee of docs/ARCHITECTURE.md "Determinism": a paper-MLP map on CPU is the same bits whichever kernels
OpenBLAS, numpy and torch would pick for this x86-64 CPU (AVX2 or AVX-512), because the agent pins them (numerics.py).

Each run is a fresh interpreter, since OpenBLAS picks its kernel when it loads: once with the machine's own choice
(every pinning variable unset), once as an AVX2 machine would run it (OpenBLAS's Haswell kernel, numpy without its
AVX-512 paths, torch at avx2), and once with the pin defeated (torch loaded before the agent), to show that the
first two agree because of the pin and not because this CPU happens to pick the Haswell kernel anyway.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import AGENT_DIR
from fractal_agent import numerics

CHILD = """
import sys, json
if sys.argv[1] == "unpinned":
    import torch  # loads OpenBLAS with the CPU's own kernel before fractal_agent can pin it
import fractal_agent, numpy as np, torch
from fractal_agent import envinfo
from fractal_agent.spec import validate
from fractal_agent.trainer import run_cells
axis = {"scale": "log", "range": [-3.0, 6.0], "points": 12}
spec = validate({"version": 1, "name": "numerics", "model": {"family": "mlp", "width": 16, "activation": "tanh", "seed": 0},
                 "train": {"steps": 120}, "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}},
                 "criterion": {"window": 20, "threshold": 1.0}, "record": {"curves": True}})
r = run_cells(spec, np.arange(144), "cpu")
print(json.dumps({"env": envinfo.probe()["numerics"],
                  **{k: np.ascontiguousarray(r[k]).tobytes().hex() for k in
                     ("final_loss", "first_loss", "score", "trainable", "stable", "divergence_step", "loss_trace")}}))
"""

AVX512_NUMPY = "AVX512F,AVX512CD,AVX512_SKX,AVX512_CLX,AVX512_CNL,AVX512_ICL"


def _run(which, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in numerics.PINS and k not in ("OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")}
    out = subprocess.run([sys.executable, "-c", CHILD, which], env={**base, "PYTHONPATH": str(AGENT_DIR), **env},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


needs_pin = pytest.mark.skipif(not numerics.pinnable(), reason="the guarantee is for x86-64 CPUs with AVX2 and FMA")


@needs_pin
def test_a_map_is_the_same_bits_with_this_cpus_kernels_and_an_avx2_machines():
    _, flags = numerics.cpu_info()
    as_avx2 = {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2"}
    if "avx512f" in flags:
        as_avx2["NPY_DISABLE_CPU_FEATURES"] = AVX512_NUMPY
    own, avx2 = _run("pinned"), _run("pinned", **as_avx2)
    for run in (own, avx2):
        assert run["env"]["blas_kernel"] == numerics.OPENBLAS_CORE or not run["env"]["blas"].startswith("OpenBLAS")
        assert run["env"]["pinned"] == numerics.PINS and run["env"]["not_pinned"] is None
    assert own["env"]["key"] == avx2["env"]["key"]
    for field in ("final_loss", "first_loss", "score", "trainable", "stable", "divergence_step", "loss_trace"):
        assert own[field] == avx2[field], f"{field} differs between this CPU's kernels and an AVX2 machine's"
    assert np.frombuffer(bytes.fromhex(own["trainable"]), dtype=bool).any()  # a map with both outcomes
    assert not np.frombuffer(bytes.fromhex(own["trainable"]), dtype=bool).all()


@needs_pin
def test_the_pin_is_what_makes_them_agree_and_a_late_pin_says_so():
    unpinned, pinned = _run("unpinned"), _run("pinned")
    assert unpinned["env"]["pinned"] == {}
    assert "loaded before the agent could pin" in unpinned["env"]["not_pinned"]
    if not unpinned["env"]["blas"].startswith("OpenBLAS") or unpinned["env"]["blas_kernel"] == numerics.OPENBLAS_CORE:
        pytest.skip(f"this CPU's own kernel is {unpinned['env']['blas_kernel']}: nothing to tell apart here")
    # On a CPU whose own kernel is another one (AVX-512), the unpinned map is other bits: what the pin prevents.
    assert unpinned["env"]["key"] != pinned["env"]["key"]
    assert unpinned["loss_trace"] != pinned["loss_trace"]


def test_isa_levels_and_the_cpu_that_cannot_run_the_pinned_kernels():
    v3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}
    assert numerics.isa_level("x86_64", v3) == "x86-64-v3"
    assert numerics.isa_level("x86_64", v3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}) == "x86-64-v4"
    assert numerics.isa_level("x86_64", {"sse2"}) == "x86-64-v1"
    assert numerics.isa_level("aarch64", set()) == "aarch64"
    assert numerics.pinnable("x86_64", v3) and not numerics.pinnable("x86_64", v3 - {"avx2"})
    assert not numerics.pinnable("aarch64", {"asimd"})
