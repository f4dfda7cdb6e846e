"""Tiles: a population's CellResults as JSON-able typed arrays (base64 of little-endian bytes).

A map of 4096^2 cells cannot travel as one JSON object per cell, so each finished population is one
tile: per-cell scalar fields as 1-D arrays of length K, and (when recorded) the loss / grad-norm
curves as (K, P) arrays sharing one step axis of P points.

    {"count": K,
     "fields": {"cell": {"dtype": "<i8", "data": B64}, "score": {"dtype": "<f8", "data": B64}, ...},
     "curves": {"points": P, "step": {"dtype": "<i4", "shape": [P], "data": B64},
                "loss": {"dtype": "<f4", "shape": [K, P], "data": B64}, "grad_norm": {...}}}

`curves` is null when the sweep does not record them. dtype strings are numpy's (`<f8`, `|u1`).
"""
import base64

import numpy as np

# CellResults key -> tile curve name (ARCHITECTURE.md "Python interfaces").
CURVES = {"trace_step": "step", "loss_trace": "loss", "grad_norm_trace": "grad_norm"}


def encode_array(a, with_shape=False):
    a = np.asarray(a)
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))  # no-op on little-endian hosts
    out = {"dtype": a.dtype.str, "data": base64.b64encode(a.tobytes()).decode("ascii")}
    if with_shape:
        out["shape"] = list(a.shape)
    return out


def decode_array(obj, shape=None):
    """Inverse of encode_array; `shape` is used when the object carries none (1-D fields)."""
    a = np.frombuffer(base64.b64decode(obj["data"], validate=True), dtype=np.dtype(obj["dtype"])).copy()
    shape = obj.get("shape", shape)
    return a.reshape(shape) if shape is not None else a


def pack(results):
    """CellResults (dict of numpy arrays, one row per cell) -> tile dict (without seq/type)."""
    count = len(results["cell"])
    fields, curves = {}, {}
    for name, value in results.items():
        value = np.asarray(value)
        if name in CURVES:
            curves[CURVES[name]] = encode_array(value, with_shape=True)
            continue
        if value.shape != (count,):
            raise ValueError(f"result field {name!r} has shape {value.shape}, expected ({count},): "
                             f"per-cell fields are 1-D, curves go in {sorted(CURVES)}")
        fields[name] = encode_array(value)
    if curves:
        missing = sorted(set(CURVES.values()) - set(curves))
        if missing:
            raise ValueError(f"results carry some curves but not {missing}")
        curves = {"points": curves["step"]["shape"][0], **curves}
    return {"count": count, "fields": fields, "curves": curves or None}


def unpack(tile):
    """Tile dict -> CellResults (dict of numpy arrays), the exact inverse of pack()."""
    count = tile["count"]
    out = {name: decode_array(obj, (count,)) for name, obj in tile["fields"].items()}
    if tile.get("curves"):
        for key, name in CURVES.items():
            out[key] = decode_array(tile["curves"][name])
    return out
