"""Tiles: CellResults <-> base64 typed arrays, exact round trip."""
import base64
import json

import numpy as np
import pytest

from fractal_agent import tiles


def results(k=5, p=7, curves=True):
    rng = np.random.default_rng(0)
    r = {
        "cell": np.arange(100, 100 + k, dtype=np.int64),
        "trainable": rng.integers(0, 2, k).astype(np.uint8),
        "stable": rng.integers(0, 2, k).astype(np.uint8),
        "score": np.array([-1.5, np.nan, np.inf, -np.inf, 1e308][:k], dtype=np.float64),
        "divergence_step": np.array([-1, 3, 7, 0, 2**31 - 1][:k], dtype=np.int32),
        "wall_time": rng.random(k),
    }
    if curves:
        r["trace_step"] = np.arange(p, dtype=np.int32) * 3
        r["loss_trace"] = rng.random((k, p)).astype(np.float32)
        r["grad_norm_trace"] = rng.random((k, p)).astype(np.float32)
    return r


def test_round_trip_is_exact_including_nan_inf_and_dtypes():
    r = results()
    tile = json.loads(json.dumps(tiles.pack(r)))  # it must survive JSON
    back = tiles.unpack(tile)
    assert set(back) == set(r)
    for k in r:
        assert back[k].dtype == r[k].dtype, k
        assert back[k].shape == r[k].shape, k
        assert back[k].tobytes() == r[k].tobytes(), k  # bit for bit, NaN payloads included
    assert tile["count"] == 5
    assert tile["curves"]["points"] == 7
    assert tile["curves"]["loss"]["shape"] == [5, 7]
    assert tile["fields"]["score"]["dtype"] == "<f8"
    assert tile["fields"]["trainable"]["dtype"] == "|u1"


def test_bytes_are_little_endian_even_from_big_endian_input():
    r = {"cell": np.array([1, 2], dtype=">i8"), "score": np.array([1.0, 2.0], dtype=">f8")}
    tile = tiles.pack(r)
    assert tile["fields"]["cell"]["dtype"] == "<i8"
    assert base64.b64decode(tile["fields"]["cell"]["data"]) == b"\x01" + b"\0" * 7 + b"\x02" + b"\0" * 7
    assert tiles.unpack(tile)["score"].tolist() == [1.0, 2.0]


def test_without_curves_the_tile_says_so():
    tile = tiles.pack(results(curves=False))
    assert tile["curves"] is None
    assert "loss_trace" not in tiles.unpack(tile)


def test_a_field_of_the_wrong_length_is_refused():
    r = results(curves=False)
    r["score"] = r["score"][:3]
    with pytest.raises(ValueError, match="score"):
        tiles.pack(r)
