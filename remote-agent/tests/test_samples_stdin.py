"""`samples -` takes its prompts on stdin with the spec, so prompt text never appears in argv (issue 15, item 11)."""
import json
import subprocess

from test_base_metrics import GPT_SPEC
from test_cli import PYTHON, agent_env


def samples(stdin, *args):
    return subprocess.run([PYTHON, "-m", "fractal_agent", "samples", "-", *map(str, args)], input=json.dumps(stdin),
                          env=agent_env(), capture_output=True, text=True, timeout=300)


def test_prompts_travel_on_stdin_with_the_spec():
    r = samples({"spec": GPT_SPEC, "prompts": ["1+1=", "copy: ab"]}, "--cell", 1, "--max-new-tokens", 3)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cell"] == 1 and [s["prompt"] for s in out["samples"]] == ["1+1=", "copy: ab"]
    assert all(s["reference"] is None for s in out["samples"])


def test_bad_prompts_on_stdin_are_refused():
    r = samples({"spec": GPT_SPEC, "prompts": "1+1="}, "--cell", 0)
    assert r.returncode == 2 and "prompts must be a list of strings" in r.stderr
    r = samples({"spec": GPT_SPEC, "prompts": ["a"]}, "--cell", 0, "--prompt", "b")
    assert r.returncode == 2 and "not both" in r.stderr
    r = samples({"spec": {**GPT_SPEC, "version": 99}, "prompts": ["a"]}, "--cell", 0)
    assert r.returncode == 2 and r.stderr.startswith("spec error: version")
