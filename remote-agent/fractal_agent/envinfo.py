"""`env`: one JSON object describing the interpreter, torch, CUDA and GPUs of this node.

torch is imported lazily so that a node without it still answers (torch: null plus the import
error): the app reports "missing torch on the node" instead of a traceback.
"""
import os
import platform
import socket
import sys

from . import AGENT_VERSION, PROTOCOL_VERSION


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
        info["cuda"] = torch.version.cuda
        info["cuda_available"] = torch.cuda.is_available()
        if info["cuda_available"]:
            info["cudnn"] = torch.backends.cudnn.version()
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                info["gpus"].append({"index": i, "name": p.name, "memory": p.total_memory,
                                     "capability": f"{p.major}.{p.minor}"})
    info["error"] = "; ".join(errors) or None
    return info
