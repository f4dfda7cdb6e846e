"""Module layering: the paper's MLP does not drag in the language-model stack, and no import cycles."""
import ast
import json
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "fractal_agent"
LLM_STACK = ("sft", "gpt", "llama", "checkpoints", "hub", "weights", "evals", "lora", "tokenizers", "data",
             "resources")


def _loaded_after_import(module):
    code = (f"import json, sys; import fractal_agent.{module}; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith('fractal_agent.'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PKG.parent, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_importing_the_mlp_does_not_import_the_llm_stack():
    loaded = _loaded_after_import("mlp")
    assert not loaded & {f"fractal_agent.{m}" for m in LLM_STACK}, loaded


def test_optim_imports_nothing_of_the_package():
    # numerics is the package's own first import: it pins the BLAS kernel before torch loads (__init__.py).
    assert _loaded_after_import("optim") == {"fractal_agent.optim", "fractal_agent.numerics"}


def _package_imports(path):
    """Modules of the package that `path` imports, at top level or inside functions."""
    deps = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                deps.add(node.module.split(".")[0])
            else:
                deps.update(a.name for a in node.names)
    return deps


TRAINER = ("trainer", "mlp", "optim", "outcome", "spec", "sft", "pretrain", "samples", "checkpoints", "hub", "weights",
           "evals", "resources", "gpt", "llama", "lora", "data", "tokenizers")


def test_no_import_cycles_in_the_trainer():
    graph = {m: _package_imports(PKG / f"{m}.py") & set(TRAINER) for m in TRAINER}
    state = {}

    def visit(m, path):
        if state.get(m) == "open":
            raise AssertionError("import cycle: " + " -> ".join(path + [m]))
        if state.get(m) == "done":
            return
        state[m] = "open"
        for d in sorted(graph.get(m, ())):
            visit(d, path + [m])
        state[m] = "done"

    for m in sorted(graph):
        visit(m, [])
