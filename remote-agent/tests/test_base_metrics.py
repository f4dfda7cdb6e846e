"""The untrained model's numbers are journalled once per SFT sweep (a `base` event), so forgetting
shows as each cell's difference from them."""
import json
import subprocess

import numpy as np

from conftest import tiny_spec
from fractal_agent import sft
from fractal_agent.journal import read_events
from fractal_agent.spec import validate
from test_cli import PYTHON, agent_env

GPT_SPEC = {
    "version": 1, "name": "base metrics",
    "model": {"family": "gpt", "checkpoint": "scratch",
              "config": {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 16, "vocab_size": 259}},
    "data": {"dataset": "synthetic:arithmetic", "size": 8, "seq_len": 16, "heldout": 2},
    "train": {"optimizer": "sgd", "steps": 2, "batch_size": 2, "precision": "float32"},
    "axes": {"x": {"param": "lr", "scale": "log", "range": [-3, 0], "points": 2},
             "y": {"param": "weight_decay", "scale": "linear", "range": [0, 0.1], "points": 1}},
    "criterion": {"window": 2},
}


def run(tmp_path, spec, out):
    path = tmp_path / f"{out}.json"
    path.write_text(json.dumps(spec))
    r = subprocess.run([PYTHON, "-m", "fractal_agent", "run", str(path), "--out", str(tmp_path / out)],
                       env=agent_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return list(read_events(tmp_path / out / "journal.jsonl"))


def test_an_sft_sweep_records_the_base_model_once(tmp_path):
    events = run(tmp_path, GPT_SPEC, "gpt")
    base = [e for e in events if e["type"] == "base"]
    assert len(base) == 1 and events.index(base[0]) < min(i for i, e in enumerate(events) if e["type"] == "tile")
    expected = sft.base_metrics(validate(GPT_SPEC), "cpu")
    assert np.isclose(base[0]["metrics"]["heldout_loss"], expected["heldout_loss"], rtol=1e-6)
    assert base[0]["metrics"]["ood_loss"] is None  # no data.ood: NaN in memory, null in the journal

    again = run(tmp_path, GPT_SPEC, "gpt")  # re-running a finished sweep resumes it: nothing new to measure
    assert sum(e["type"] == "base" for e in again) == 1


def test_mlp_sweeps_have_no_base_event(tmp_path):
    events = run(tmp_path, tiny_spec(4, 4), "mlp")
    assert not any(e["type"] == "base" for e in events)
