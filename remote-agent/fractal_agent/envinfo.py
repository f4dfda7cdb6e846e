"""`env`: one JSON object describing the interpreter, torch, CUDA and GPUs of this node.

torch is imported lazily so that a node without it still answers (torch: null plus the import
error): the app reports "missing torch on the node" instead of a traceback.
"""
import os
import platform
import shutil
import socket
import subprocess
import sys

from . import AGENT_VERSION, PROTOCOL_VERSION, numerics


def probe():
    info = {
        "agent": AGENT_VERSION,
        "protocol": PROTOCOL_VERSION,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "cpu_count": os.cpu_count(),
        "numpy": None,
        "torch": None,
        "cuda_available": False,
        "cuda": None,
        "cudnn": None,
        "gpus": [],
        "numerics": None,
        "error": None,
    }
    errors = []
    try:
        import numpy
        info["numpy"] = numpy.__version__
    except ImportError as e:
        errors.append(f"numpy is not importable by {sys.executable}: {e}")
    try:
        import torch
    except ImportError as e:
        errors.append(f"torch is not importable by {sys.executable}: {e}")
    else:
        info["torch"] = torch.__version__
        info["numerics"] = numerics.describe(torch)  # CPU, ISA level, BLAS and its kernel: what a CPU map's bits rest on
        info["cuda"] = torch.version.cuda
        info["cuda_available"] = torch.cuda.is_available()
        if info["cuda_available"]:
            info["cudnn"] = torch.backends.cudnn.version()
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                info["gpus"].append({"index": i, "name": p.name, "memory": p.total_memory,
                                     "capability": f"{p.major}.{p.minor}"})
    info["slurm"] = cluster_info()  # a Slurm login node: its partitions, for the app's host list; None elsewhere
    info["error"] = "; ".join(errors) or None
    return info


SLURM_CONFS = ("/etc/slurm/slurm.conf", "/etc/slurm-llnl/slurm.conf", "/run/slurm/conf/slurm.conf")


def cluster_info(timeout=3.0):
    """{"partitions": [{"name", "default", "available", "nodes", "gres", "timelimit"}], "error"} from `sinfo`,
    or None where Slurm's commands or any configuration ($SLURM_CONF, the usual paths, a configless node's
    cache) are missing: most nodes, where sinfo would only wait on a DNS lookup to say so. For the host list."""
    if shutil.which("sinfo") is None:
        return None
    if not os.environ.get("SLURM_CONF") and not any(os.path.exists(p) for p in SLURM_CONFS):
        return None
    try:
        r = subprocess.run(["sinfo", "--noheader", "--format", "%P|%a|%D|%G|%l"], capture_output=True, text=True,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"partitions": [], "error": f"sinfo failed: {e}"}
    if r.returncode != 0:
        return {"partitions": [], "error": f"sinfo failed: {r.stderr.strip()[:300]}"}
    parts = {}
    for line in r.stdout.splitlines():
        f = line.split("|")
        if len(f) != 5:
            continue
        name = f[0].rstrip("*")
        p = parts.setdefault(name, {"name": name, "default": f[0].endswith("*"), "available": f[1], "nodes": 0,
                                    "gres": [], "timelimit": f[4]})
        p["nodes"] += int(f[2]) if f[2].isdigit() else 0
        if f[3] not in ("(null)", "") and f[3] not in p["gres"]:
            p["gres"].append(f[3])
    return {"partitions": list(parts.values()), "error": None}
