"""Fractal LLM Explorer remote agent: trains sweeps of short runs and journals their outcomes.

Imports only the standard library, torch and numpy, so it runs on any GPU box without installs.
"""
from . import numerics

# Before anything imports torch or numpy: a map's bits must not depend on which kernel OpenBLAS picks for this CPU.
numerics.pin()

AGENT_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
