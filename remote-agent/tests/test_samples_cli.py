"""`python -m fractal_agent samples`: re-run one SFT cell and answer prompts with base and tuned models."""
import json
import subprocess

import numpy as np

from fractal_agent import tiles
from fractal_agent.journal import read_events
from test_base_metrics import GPT_SPEC
from test_cli import PYTHON, agent_env


def agent(*args):
    return subprocess.run([PYTHON, "-m", "fractal_agent", *map(str, args)], env=agent_env(),
                          capture_output=True, text=True, timeout=300)


def test_samples_reproduce_the_cell_and_answer_every_prompt(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(GPT_SPEC))
    assert agent("run", spec, "--out", tmp_path / "sweep").returncode == 0
    final = {}
    for ev in read_events(tmp_path / "sweep" / "journal.jsonl"):
        if ev["type"] == "tile":
            rows = tiles.unpack(ev)
            final.update(zip(rows["cell"].tolist(), rows["final_loss"].tolist()))

    r = agent("samples", spec, "--cell", 1, "--prompt", "1+1=", "--prompt", "copy: ab", "--max-new-tokens", 4)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cell"] == 1 and [s["prompt"] for s in out["samples"]] == ["1+1=", "copy: ab"]
    assert all(isinstance(s["base"], str) and isinstance(s["tuned"], str) for s in out["samples"])
    assert np.isclose(out["final_loss"], final[1], rtol=1e-6)  # the re-run is the sweep's cell


def test_samples_refuse_a_cell_outside_the_map(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(GPT_SPEC))
    r = agent("samples", spec, "--cell", 2, "--prompt", "x")
    assert r.returncode == 2 and "--cell must be in 0..1" in r.stderr


def test_samples_read_the_spec_from_stdin_and_default_to_held_out_prompts(tmp_path):
    from fractal_agent import data as D
    r = subprocess.run([PYTHON, "-m", "fractal_agent", "samples", "-", "--cell", "0", "--heldout", "2",
                        "--max-new-tokens", "3"], input=json.dumps(GPT_SPEC), env=agent_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    _, held = D.load_split(GPT_SPEC["data"]["dataset"], 0, 2, 0)
    assert [(s["prompt"], s["reference"]) for s in out["samples"]] == \
        [(c["messages"][0]["content"], c["messages"][1]["content"]) for c in held]


def test_samples_without_prompts_or_held_out_set_are_refused(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**GPT_SPEC, "data": {**GPT_SPEC["data"], "heldout": 0}}))
    r = agent("samples", spec, "--cell", 0)
    assert r.returncode == 2 and "give --prompt" in r.stderr and "data.heldout is 0" in r.stderr
