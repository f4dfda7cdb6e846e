"""Weight files, read without running code.

safetensors is parsed by hand (8-byte little-endian header length, JSON header of
{name: {dtype, shape, data_offsets}}, then the raw little-endian buffer); the safetensors package
is not needed. pytorch_model.bin / nanochat .pt files go through torch.load(weights_only=True)
(torch >= 1.13: an unpickler that allows only tensors, storages, OrderedDict and plain containers;
a pickle that names any other callable is refused with CheckpointError). safetensors is preferred
whenever present.
"""
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import torch

ST_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
             "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
             "BOOL": torch.bool}
ST_NAMES = {v: k for k, v in ST_DTYPES.items()}


def read_safetensors(path):
    """{name: tensor} of a .safetensors file (CPU tensors in the stored dtype)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buf = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in ST_DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}; supported: {', '.join(ST_DTYPES)}")
        dtype = ST_DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        itemsize = torch.empty(0, dtype=dtype).element_size()
        if end - start != count * itemsize or end > len(buf):
            raise ValueError(f"{path}: tensor {name} offsets {start}..{end} do not fit shape {shape} {info['dtype']}")
        chunk = bytearray(buf[start:end])  # a writable copy: torch.frombuffer shares memory with it
        t = torch.frombuffer(chunk, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(shape)
    return out


def write_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} in the safetensors layout (names sorted, header padded with spaces to
    a multiple of 8 bytes, as the reference writer does)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


class CheckpointError(ValueError):
    """A checkpoint file that is refused (it would run code) or a download that failed its checks."""


def load_torch_weights(path):
    """torch.load of a pickled state dict that can only build tensors and containers: weights_only=True
    (torch's restricted unpickler; torch 1.13 has it). A pickle that would call anything else (code
    execution on load) is refused before it runs."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path}: refused: this pickle holds more than tensors (loading it could run code); "
                              f"convert it to safetensors from a trusted copy. torch said: "
                              f"{str(e).strip().splitlines()[-1] if str(e).strip() else e}") from None


def read_weights(directory):
    """The state dict of an HF model directory: model.safetensors, sharded safetensors
    (model.safetensors.index.json), or pytorch_model.bin (weights only, never code); safetensors
    wins when both are there."""
    d = Path(directory)
    if (d / "model.safetensors").is_file():
        return read_safetensors(d / "model.safetensors")
    if (d / "model.safetensors.index.json").is_file():
        index = json.loads((d / "model.safetensors.index.json").read_text())
        sd = {}
        for shard in sorted(set(index["weight_map"].values())):
            sd.update(read_safetensors(d / shard))
        return sd
    if (d / "pytorch_model.bin").is_file():
        return load_torch_weights(d / "pytorch_model.bin")
    raise FileNotFoundError(f"{d}: no weights (model.safetensors, model.safetensors.index.json or pytorch_model.bin)")

