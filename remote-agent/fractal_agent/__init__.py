"""Fractal LLM Explorer remote agent: trains sweeps of short runs and journals their outcomes.

Imports only the standard library, torch and numpy, so it runs on any GPU box without installs.
"""
AGENT_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
