"""Tokenizers and chat templates: byte-level (data.py), GPT-2 BPE, nanochat's BPE.

Every tokenizer here has the same interface, which data.pack, evals and samples use:
    vocab_size, encode(text) -> ids (special-token spellings stay plain text), decode(ids) -> str,
    render(conv) -> (ids, mask)   mask 1 on the tokens SFT trains on (assistant replies + their end)
    prompt(messages) -> ids       a conversation ending in a user turn, plus the assistant opener
    stop_id                       the token that ends an assistant reply (generation stops there)
    pad_id                        filler at the end of a packed stream (loss-masked)
    prefix                        ids put before a scored text (evals): nanochat's <|bos|>, else none

Chat templates
  byte      <|user|>u<|end|><|assistant|>a<|end|> ... (data.py)
  gpt2      GPT-2 has no chat tokens, so roles are plain text:
                "User: {u}\n\nAssistant:" then " {a}" + <|endoftext|>  per turn
            mask 1 on " {a}" and <|endoftext|>. The prompt and the reply are encoded separately, so
            the mask boundary is a token boundary. A system message is prepended to the first user
            message (as nanochat does).
  nanochat  <|bos|> <|user_start|>u<|user_end|> <|assistant_start|>a<|assistant_end|> ...
            mask 1 on a and <|assistant_end|> (nanochat's render_conversation).

BPE: tiktoken's algorithm (merge the adjacent pair whose concatenation has the lowest rank) over
byte strings, after splitting text with the tokenizer's regex. With tiktoken installed, its Rust
implementation is used instead (same results, much faster). Python's `re` has no \\p{L} / \\p{N}:
without the `regex` package the two known split patterns (GPT-2's and nanochat's GPT-4-style one)
are used in a translation with [^\\W\\d_] for letters and \\d for numbers, which agrees on ASCII
and on most text (it differs for rare number classes such as Roman numerals); other patterns
need `regex` or tiktoken.
"""
import importlib.util
import json
import pickle
import re
from pathlib import Path

from . import data as D

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
NANOCHAT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
# Python `re` spellings of the above (letters [^\W\d_], numbers \d, "neither" (?:[^\s\w]|_)).
_RE_TRANSLATIONS = {
    GPT2_PATTERN: r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""",
    NANOCHAT_PATTERN: r"""'(?i:[sdmt]|ll|ve|re)|(?:[^\r\n\w]|_)?+[^\W\d_]+|\d{1,2}| ?(?:[^\s\w]|_)++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""",
}
NANOCHAT_SPECIALS = ("<|bos|>", "<|user_start|>", "<|user_end|>", "<|assistant_start|>", "<|assistant_end|>",
                     "<|python_start|>", "<|python_end|>", "<|output_start|>", "<|output_end|>")


def _compile(pattern):
    if importlib.util.find_spec("regex") is not None:
        import regex  # optional: understands \p{..} natively
        return regex.compile(pattern)
    if pattern not in _RE_TRANSLATIONS:
        raise RuntimeError("this tokenizer's split pattern uses \\p{..} classes, which Python's re lacks; "
                           "install the `regex` or `tiktoken` package")
    return re.compile(_RE_TRANSLATIONS[pattern])


class BytePairEncoding:
    """Byte-level BPE over mergeable ranks {bytes: id} (the tiktoken form), plus special tokens."""

    def __init__(self, ranks, pattern, specials, name="bpe"):
        self.ranks = ranks
        self.specials = dict(specials)
        self.pattern = pattern
        self.decoder = {i: b for b, i in ranks.items()}
        self.special_names = {i: s for s, i in self.specials.items()}
        self.vocab_size = max(list(ranks.values()) + list(self.specials.values())) + 1
        self._fast = None
        if importlib.util.find_spec("tiktoken") is not None:
            import tiktoken  # optional, the same algorithm in Rust
            self._fast = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks,
                                           special_tokens=self.specials)
        else:
            self._split = _compile(pattern)
        self._cache = {}

    def _bpe(self, piece):
        if piece in self.ranks:
            return [self.ranks[piece]]
        parts = [piece[i:i + 1] for i in range(len(piece))]
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        return [self.ranks[p] for p in parts]

    def encode(self, text):
        """Ordinary text to ids (special-token spellings are encoded as plain text)."""
        if self._fast is not None:
            return self._fast.encode_ordinary(text)
        out = []
        for m in self._split.finditer(text):
            piece = m.group().encode("utf-8")
            ids = self._cache.get(piece)
            if ids is None:
                ids = self._cache[piece] = self._bpe(piece)
            out += ids
        return out

    def decode(self, ids):
        parts = []
        for i in ids:
            i = int(i)
            if i in self.special_names:
                parts.append(self.special_names[i].encode("utf-8"))
            elif i in self.decoder:
                parts.append(self.decoder[i])
            else:
                raise ValueError(f"token id {i} is not in this tokenizer's vocabulary")
        return b"".join(parts).decode("utf-8", errors="replace")


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 bytes to printable unicode characters (encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def gpt2_ranks(vocab_path, merges_path):
    """Mergeable ranks {bytes: id} from GPT-2's vocab.json (a.k.a. encoder.json) and merges.txt
    (a.k.a. vocab.bpe). Ranks are rebuilt from the merge order (bytes in GPT-2's order first) and
    must agree with the vocab's ids, as tiktoken checks; <|endoftext|> is returned separately.
    Returns (ranks, specials)."""
    byte_dec = {c: b for b, c in bytes_to_unicode().items()}
    vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
    lines = Path(merges_path).read_text(encoding="utf-8").split("\n")
    merges = [tuple(l.split()) for l in lines[1 if lines[0].startswith("#version") else 0:] if l.strip()]

    def to_bytes(s):
        return bytes(byte_dec[c] for c in s)

    ranks = {bytes([b]): i for i, b in enumerate(byte_dec[c] for c in bytes_to_unicode().values())}
    for a, b in merges:
        ranks[to_bytes(a) + to_bytes(b)] = len(ranks)
    specials = {k: v for k, v in vocab.items() if k.startswith("<|") and k.endswith("|>")}
    from_vocab = {to_bytes(k): v for k, v in vocab.items() if k not in specials}
    if from_vocab != ranks:
        raise ValueError(f"{vocab_path} and {merges_path} disagree: the merge order does not give the vocab's ids")
    return ranks, specials


# ----------------------------------------------------------------------------- chat tokenizers

class ByteChatTokenizer:
    """data.py's byte tokenizer and template, behind the common interface."""
    name = "byte"
    vocab_size = D.VOCAB_SIZE
    stop_id = D.END
    pad_id = D.END
    prefix = []

    def encode(self, text):
        return D.encode(text)

    def decode(self, ids):
        return D.decode(ids)

    def render(self, conv):
        return D.render(conv)

    def prompt(self, messages):
        ids, _ = D.render({"messages": list(messages) + [{"role": "assistant", "content": ""}]})
        return ids[:-1]  # drop the empty reply's <|end|>, keep <|assistant|>


class GPT2ChatTokenizer:
    """Plain-text role markers (see the module docstring) over a byte-level BPE."""
    name = "gpt2"

    def __init__(self, bpe, end_token="<|endoftext|>"):
        """end_token: the special token closing each reply (GPT-2's <|endoftext|>; a Llama-style
        model's eos)."""
        self.bpe = bpe
        if end_token not in bpe.specials:
            raise ValueError(f"chat tokenizer: the vocab has no {end_token}")
        self.stop_id = self.pad_id = bpe.specials[end_token]
        self.vocab_size = bpe.vocab_size
        self.prefix = []

    def encode(self, text):
        return self.bpe.encode(text)

    def decode(self, ids):
        return self.bpe.decode(ids)

    def render(self, conv):
        ids, mask = [], []
        for m in D.merge_system(conv["messages"]):
            if m["role"] == "user":
                part = self.encode(f"User: {m['content']}\n\nAssistant:")
                ids += part
                mask += [0] * len(part)
            else:
                part = self.encode(" " + m["content"]) + [self.stop_id]
                ids += part
                mask += [1] * len(part)
        return ids, mask

    def prompt(self, messages):
        ids, _ = self.render({"messages": list(messages)})
        return ids


class NanochatTokenizer:
    name = "nanochat"

    def __init__(self, bpe):
        missing = [s for s in NANOCHAT_SPECIALS[:5] if s not in bpe.specials]
        if missing:
            raise ValueError(f"nanochat tokenizer: special tokens {missing} missing")
        self.bpe = bpe
        sp = bpe.specials
        self.bos, self.user_start, self.user_end = sp["<|bos|>"], sp["<|user_start|>"], sp["<|user_end|>"]
        self.asst_start, self.asst_end = sp["<|assistant_start|>"], sp["<|assistant_end|>"]
        self.stop_id = self.asst_end
        self.pad_id = self.asst_end
        self.vocab_size = bpe.vocab_size
        self.prefix = [self.bos]

    def encode(self, text):
        return self.bpe.encode(text)

    def decode(self, ids):
        return self.bpe.decode(ids)

    def render(self, conv):
        ids, mask = [self.bos], [0]
        for m in D.merge_system(conv["messages"]):
            body = self.encode(m["content"])
            if m["role"] == "user":
                part = [self.user_start] + body + [self.user_end]
                ids += part
                mask += [0] * len(part)
            else:
                ids += [self.asst_start] + body + [self.asst_end]
                mask += [0] + [1] * (len(body) + 1)
        return ids, mask

    def prompt(self, messages):
        ids, _ = self.render({"messages": list(messages)})
        return ids + [self.asst_start]


def load_gpt2_tokenizer(directory):
    """GPT-2 chat tokenizer from a directory with vocab.json + merges.txt (HF) or encoder.json +
    vocab.bpe (OpenAI's original names)."""
    d = Path(directory)
    for vocab, merges in (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")):
        if (d / vocab).is_file() and (d / merges).is_file():
            ranks, specials = gpt2_ranks(d / vocab, d / merges)
            return GPT2ChatTokenizer(BytePairEncoding(ranks, GPT2_PATTERN, specials, name="gpt2"))
    raise FileNotFoundError(f"{d}: no GPT-2 tokenizer files (vocab.json + merges.txt, or encoder.json + vocab.bpe)")


def load_llama_tokenizer(directory):
    """Tokenizer of a Llama-style HF model: tokenizer.json with a byte-level BPE model (SmolLM's is
    GPT-2 style), read as vocab + merges, split with GPT-2's pattern; role markers as plain text as
    for GPT-2 (the base model knows no chat tokens), the end of a reply being the model's eos. Needs the tokenizer.json layout {"model": {"type": "BPE", "vocab", "merges"},
    "added_tokens": [...]}."""
    d = Path(directory)
    tj = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    model = tj["model"]
    if model.get("type") != "BPE":
        raise ValueError(f"{d}/tokenizer.json: model type {model.get('type')!r}; only byte-level BPE is supported")
    byte_dec = {c: b for b, c in bytes_to_unicode().items()}
    ranks = {bytes(byte_dec[c] for c in tok): i for tok, i in model["vocab"].items()}
    specials = {a["content"]: a["id"] for a in tj.get("added_tokens", [])}
    for s in specials:
        ranks.pop(bytes(byte_dec.get(c, 0) for c in s), None)
    # HF's BPE applies merges in merge order; BytePairEncoding merges by id. They agree when the
    # merged tokens' ids increase with the merge order (true of vocabularies trained by HF tokenizers).
    merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    ids = [ranks[bytes(byte_dec[c] for c in a + b)] for a, b in merges]
    if any(x >= y for x, y in zip(ids, ids[1:])):
        raise ValueError(f"{d}/tokenizer.json: merged tokens' ids are not in merge order; this tokenizer is not supported")
    cfg = json.loads((d / "config.json").read_text())
    eos = cfg.get("eos_token_id")
    name = next((s for s, i in specials.items() if i == eos), None)
    if name is None:
        raise ValueError(f"{d}: eos_token_id {eos} is not an added token of tokenizer.json")
    return GPT2ChatTokenizer(BytePairEncoding(ranks, GPT2_PATTERN, specials, name="llama"), end_token=name)


class _EncodingState:
    """Stands in for tiktoken.core.Encoding when unpickling without tiktoken: Encoding pickles its
    constructor arguments as a dict (name, pat_str, mergeable_ranks, special_tokens)."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise ValueError(f"tokenizer.pkl holds a registered tiktoken encoding by name ({state!r}); "
                             f"install tiktoken to load it")
        self.state = state


class _TiktokenUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("tiktoken.core", "Encoding"):
            return _EncodingState
        if (module, name) == ("_codecs", "encode"):  # how protocol-2 pickles spell bytes
            import codecs
            return codecs.encode
        raise pickle.UnpicklingError(f"tokenizer.pkl: refusing to load {module}.{name} (only a tiktoken Encoding is expected)")


def load_nanochat_tokenizer(path):
    """nanochat's tokenizer.pkl: a pickled tiktoken Encoding. Read as data (only the Encoding class
    is allowed), so tiktoken itself is optional."""
    with open(path, "rb") as f:
        enc = _TiktokenUnpickler(f).load()
    st = enc.state
    bpe = BytePairEncoding(st["mergeable_ranks"], st["pat_str"], st["special_tokens"], name=st.get("name", "nanochat"))
    return NanochatTokenizer(bpe)


def save_nanochat_tokenizer(path, ranks, specials, pattern=NANOCHAT_PATTERN, name="nanochat"):
    """Write a tokenizer.pkl in the layout `pickle.dump(tiktoken.Encoding(...))` produces (used by
    tests to make nanochat-format files without tiktoken)."""
    with open(path, "wb") as f:
        f.write(_encoding_pickle(name, pattern, ranks, specials))


def _encoding_pickle(name, pattern, ranks, specials):
    """Protocol-2 pickle of `copyreg.__newobj__(tiktoken.core.Encoding)` + BUILD(state), the shape
    `pickle.dumps(tiktoken.Encoding(...))` produces."""
    state = {"name": name, "pat_str": pattern, "mergeable_ranks": ranks, "special_tokens": specials}
    body = pickle.dumps(state, protocol=2)[2:-1]  # strip PROTO header and STOP
    return (b"\x80\x02" + b"ctiktoken.core\nEncoding\n" + b")\x81" + body + b"b.")
