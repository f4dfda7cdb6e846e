"""SmolTalk, smol-smoltalk and the multiple-choice tasks through the Hugging Face `datasets` package.

`datasets` (and its cached data) cannot be installed here, so a stand-in package with the one call the agent
makes, load_dataset(name, config, split=...), is put on sys.path: what is checked is the agent's side of that
seam, which dataset, config and split it asks for and how it turns the rows it gets into conversations and items."""
import importlib.util
import json
import sys

import pytest

from fractal_agent import data as D
from fractal_agent import evals as E

if importlib.util.find_spec("datasets") is not None:
    pytest.skip("the real `datasets` package is installed here", allow_module_level=True)

FAKE = '''
import json, os
calls = []

def load_dataset(name, config=None, split=None):
    calls.append([name, config, split])
    rows = json.load(open(os.environ["FAKE_DATASETS_ROWS"]))[name]
    return rows
'''


@pytest.fixture
def hub(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "datasets"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "datasets", raising=False)
    rows_file = tmp_path / "rows.json"
    monkeypatch.setenv("FAKE_DATASETS_ROWS", str(rows_file))
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path / "no-evals-here"))

    def serve(rows):
        rows_file.write_text(json.dumps(rows))
        import datasets
        datasets.calls.clear()
        return datasets.calls
    yield serve
    sys.modules.pop("datasets", None)


def smoltalk_row(i):  # the hub rows carry more than messages (a source column, extra keys per message)
    return {"messages": [{"role": "user", "content": f"q{i}", "extra": 1}, {"role": "assistant", "content": f"a{i}"}],
            "source": "test"}


@pytest.mark.parametrize("dataset,call", [("smoltalk", ["HuggingFaceTB/smoltalk", "all", "train"]),
                                          ("smoltalk:everyday-conversations", ["HuggingFaceTB/smoltalk", "everyday-conversations", "train"]),
                                          ("smol-smoltalk", ["HuggingFaceTB/smol-smoltalk", None, "train"])])
def test_chat_sets_come_from_the_named_dataset_as_prefixes(hub, dataset, call):
    repo = call[0]
    calls = hub({repo: [smoltalk_row(i) for i in range(12)]})
    train, held = D.load_split(dataset, 6, 2)
    assert calls[-1] == call
    assert held == [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]} for i in (0, 1)]
    assert [c["messages"][0]["content"] for c in train] == [f"q{i}" for i in range(2, 8)]
    small, _ = D.load_split(dataset, 3, 2)
    assert small == train[:3]  # a smaller set is a prefix of a larger one
    with pytest.raises(ValueError, match="has 12 conversations, the sweep needs 15"):
        D.load_split(dataset, 13, 2)


def test_a_malformed_hub_row_is_named(hub):
    hub({"HuggingFaceTB/smoltalk": [smoltalk_row(0), {"messages": [{"role": "user", "content": "no reply"}]}]})
    with pytest.raises(ValueError, match="smoltalk row 1: the conversation must end with an assistant turn"):
        D.load_split("smoltalk", 1, 1)


def test_eval_tasks_come_from_their_harness_datasets(hub):
    calls = hub({
        "ybisk/piqa": [{"goal": f"g{i}", "sol1": "a", "sol2": "b", "label": i % 2} for i in range(5)],
        "allenai/ai2_arc": [{"question": "Q?", "choices": {"text": ["x", "y", "z"], "label": ["A", "B", "C"]}, "answerKey": "C"}],
    })
    task, items = E.load_items("piqa:3")
    assert task == "piqa" and len(items) == 3 and calls[-1] == ["ybisk/piqa", None, "validation"]
    assert [it["gold"] for it in items] == [0, 1, 0]
    task, items = E.load_items("arc_challenge")
    assert calls[-1] == ["allenai/ai2_arc", "ARC-Challenge", "test"] and items[0]["gold"] == 2
    with pytest.raises(ValueError, match="only 5 rows available"):
        E.load_items("piqa:6")
