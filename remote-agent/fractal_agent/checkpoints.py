"""Loaders for pretrained checkpoints, all becoming a population model with named parameter groups.

model.checkpoint (spec) -> load(checkpoint) -> Loaded(kind, cfg, state_dict, tokenizer, source):
    tiny                  resources/tiny-gpt (resources.load_checkpoint), byte tokenizer
    hf:<dir or org/name>  Hugging Face GPT-2 family (model_type "gpt2") or Llama-style (model_type
                          "llama", e.g. SmolLM-135M): config.json + model.safetensors (or sharded
                          model.safetensors.index.json, or pytorch_model.bin); tokenizer from the
                          same directory (GPT-2: vocab.json + merges.txt; Llama-style: see below)
    nanochat:<dir>        model_<step>.pt + meta_<step>.json (the highest step) + tokenizer.pkl
Then build(loaded, K, device, dtype) makes K identical replicas (gpt.GPT or llama.RopeGPT).

Where hf:<name>[@<revision>] is looked for, in order: a local directory of that path; the Hugging
Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) in its layout
models--ORG--NAME/snapshots/<commit>/ (the commit refs/<revision> names, default refs/main, else a
snapshot named by the revision itself, else the only snapshot); else the files are downloaded with
urllib from $HF_ENDPOINT (default https://huggingface.co, the variable huggingface_hub also reads
for mirrors) into that cache layout ($HF_TOKEN is sent when set). The tests exercise the download
against local HTTP servers in the hub's URL layout; the real hub cannot be reached from the
development machines.

Downloads are pinned and checked (download_hf): the revision (default main) is first resolved to a
commit (/api/models/<name>/revision/<rev>; a 40-hex revision is taken as the commit), every file is
fetched from /<name>/resolve/<commit>/<file>, so all of a model's files come from one commit, and
refs/<rev> records which. Each file is checked against the size and hash the hub announces: LFS
files (weights) carry X-Linked-Etag = their sha256 and X-Linked-Size on the hub's redirect, small
files an ETag = their git blob sha1; a mismatch or a short body is an error. Files go to a hidden
snapshots/.partial-* directory that is renamed to snapshots/<commit> only when all are complete:
an interrupted download never looks like a cached model. Redirects are followed by hand, and the
$HF_TOKEN Authorization header is sent only to the endpoint's own host and port, never to a
redirect target elsewhere (the CDN).

Weights are loaded without running code: safetensors is preferred whenever present, and
pytorch_model.bin / nanochat .pt files go through torch.load(weights_only=True) (torch >= 1.13:
an unpickler that allows only tensors, storages, OrderedDict and plain containers; a pickle that
names any other callable is refused with CheckpointError).

safetensors is parsed by hand (8-byte little-endian header length, JSON header of
{name: {dtype, shape, data_offsets}}, then the raw little-endian buffer); the safetensors package
is not needed. GPT-2's Conv1D weights are stored (in, out), which is gpt.GPT's layout already;
Llama's nn.Linear weights are (out, in) and are transposed to llama.RopeGPT's (in, out).

nanochat format (taken from nanochat's checkpoint_manager.py and gpt.py, Oct 2025): model_NNNNNN.pt
is torch.save(model.state_dict()) with names transformer.wte.weight, transformer.h.{i}.attn.
c_{q,k,v,proj}.weight, transformer.h.{i}.mlp.c_{fc,proj}.weight, lm_head.weight (nn.Linear
(out, in); a torch.compile'd model's names start with _orig_mod.); meta_NNNNNN.json holds
{"model_config": {sequence_len, vocab_size, n_layer, n_head, n_kv_head, n_embd}, ...}. The
tokenizer is tokenizer.pkl in the checkpoint directory, its tokenizer/ subdirectory, or nanochat's
base directory two levels up (~/.cache/nanochat/tokenizer/ for .../chatsft_checkpoints/d20).
Later nanochat versions (per-layer resid/x0 lambdas, value embeddings, padded vocabularies) have
extra tensors and are refused naming the first unexpected one.
Architecture: see llama.py (RoPE with nanochat's rotation sign, QK RMS-norm, ReLU^2 MLP of width
4C, weightless RMSNorm with eps = float32 machine epsilon (F.rms_norm's default), norm after the
embedding, logits soft-capped at 15, untied). nanochat keeps its RoPE tables in bf16; here they
are float32, a difference of the order of bf16 rounding.
"""
import binascii
import hashlib
import http.client
import json
import os
import pickle
import re
import secrets
import shutil
import struct
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import resources as R
from . import tokenizers as TK
from .gpt import GPT, GPTConfig
from .llama import RopeConfig, RopeGPT

# ----------------------------------------------------------------------------- safetensors

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


# ----------------------------------------------------------------------------- locating HF models

HF_FILES = ("config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json")


def hf_cache_dir():
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


_COMMIT = re.compile(r"[0-9a-f]{40}")
_REVISION = re.compile(r"[\w.-]+")


def _repo_dir(name, cache):
    return cache / ("models--" + name.replace("/", "--"))


def _cached_snapshot(name, cache, revision=None):
    """The cached snapshot for `revision` (None: refs/main, else the only snapshot), or None.
    Hidden directories (.partial-*: downloads in progress or interrupted) never count."""
    repo = _repo_dir(name, cache)
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return None
    ref = repo / "refs" / (revision or "main")
    if ref.is_file():
        commit = ref.read_text().strip()
        if commit and not commit.startswith(".") and "/" not in commit and (snaps / commit / "config.json").is_file():
            return snaps / commit
    if revision is not None:
        return snaps / revision if (snaps / revision / "config.json").is_file() else None
    found = sorted(p for p in snaps.iterdir() if not p.name.startswith(".") and (p / "config.json").is_file())
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError(f"{repo}: {len(found)} snapshots and no refs/main; pass the snapshot directory itself "
                         f"(hf:{found[-1]}) or a revision (hf:{name}@<commit>)")
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as HTTPError 3xx: _get follows them itself, deciding what each hop may see."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _origin(url):
    u = urllib.parse.urlsplit(url)
    return (u.scheme, u.hostname, u.port or {"http": 80, "https": 443}.get(u.scheme))


def _open(url, token, max_redirects=10):
    """(response, announced) for GET url, redirects followed; Authorization only while on the first
    URL's scheme, host and port. `announced`: {"sha256"|"git-sha1": hex, "size": int} from the hub's
    headers (X-Linked-Etag / X-Linked-Size of an LFS redirect; ETag of a file it serves itself)."""
    home, announced = _origin(url), {}
    for _ in range(max_redirects + 1):
        on_home = _origin(url) == home
        headers = {"User-Agent": "fractal-agent", "Accept-Encoding": "identity"}
        if token and on_home:
            headers["Authorization"] = f"Bearer {token}"
        try:
            r = _OPENER.open(urllib.request.Request(url, headers=headers), timeout=60)
            h, redirect = r.headers, None
        except urllib.error.HTTPError as e:
            if e.code not in (301, 302, 303, 307, 308) or not e.headers.get("Location"):
                raise
            h, r, redirect = e.headers, None, urllib.parse.urljoin(url, e.headers["Location"])
            e.close()
        if on_home:  # only the hub's own answers announce hashes (a CDN's ETag means something else)
            tag = (h.get("X-Linked-Etag") or h.get("ETag") or "").strip()
            if not tag.startswith("W/"):
                tag = tag.strip('"').lower()
                if re.fullmatch(r"[0-9a-f]{64}", tag):
                    announced.setdefault("sha256", tag)
                elif re.fullmatch(r"[0-9a-f]{40}", tag):
                    announced.setdefault("git-sha1", tag)
            size = h.get("X-Linked-Size") or ""
            if size.isdigit():
                announced.setdefault("size", int(size))
        if r is not None:
            return r, announced
        url = redirect
    raise CheckpointError(f"{url}: more than {max_redirects} redirects")


def _fetch(url, dest, token):
    """Download url to dest, checked against what the hub announced. False on 404 (optional file)."""
    try:
        r, announced = _open(url, token)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        raise CheckpointError(f"downloading {url}: HTTP {e.code}") from None
    sha256, n = hashlib.sha256(), 0
    with r, open(dest, "wb") as f:
        length = r.headers.get("Content-Length")
        try:
            while True:
                block = r.read(1 << 20)
                if not block:
                    break
                sha256.update(block)
                f.write(block)
                n += len(block)
        except (http.client.IncompleteRead, OSError) as e:
            raise CheckpointError(f"downloading {url}: the connection broke after {n} bytes ({e})") from None
        f.flush()
        os.fsync(f.fileno())
    for want, what in ((length, "Content-Length"), (announced.get("size"), "the hub's X-Linked-Size")):
        if want is not None and str(want).isdigit() and int(want) != n:
            raise CheckpointError(f"downloading {url}: got {n} bytes, {what} says {want} (truncated download)")
    if "sha256" in announced and sha256.hexdigest() != announced["sha256"]:
        raise CheckpointError(f"downloading {url}: sha256 {sha256.hexdigest()} is not the hub's {announced['sha256']}")
    if "git-sha1" in announced and "sha256" not in announced:
        blob = hashlib.sha1(b"blob %d\0" % n)
        with open(dest, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                blob.update(block)
        if blob.hexdigest() != announced["git-sha1"]:
            raise CheckpointError(f"downloading {url}: git blob sha1 {blob.hexdigest()} is not the hub's ETag "
                                  f"{announced['git-sha1']}")
    return True


def _resolve_commit(endpoint, name, revision, token):
    if _COMMIT.fullmatch(revision):
        return revision
    url = f"{endpoint}/api/models/{name}/revision/{urllib.parse.quote(revision, safe='')}"
    try:
        r, _ = _open(url, token)
        with r:
            info = json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        raise CheckpointError(f"hf:{name}@{revision}: the hub does not know this model or revision "
                              f"({url}: HTTP {e.code})") from None
    except ValueError as e:
        raise CheckpointError(f"hf:{name}@{revision}: {url} did not answer JSON ({e})") from None
    commit = info.get("sha") if isinstance(info, dict) else None
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        raise CheckpointError(f"hf:{name}@{revision}: {url} names no commit (sha: {commit!r})")
    return commit


def _write_ref(repo, revision, commit):
    refs = repo / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    tmp = refs / f".{revision}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(commit)
    os.replace(tmp, refs / revision)


def _download(name, cache, revision=None):
    """Fetch the model's files at one commit of `revision` (default main) into the cache layout,
    verified, via a hidden temporary directory renamed into place (module doc)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    token = os.environ.get("HF_TOKEN") or None
    revision = revision or "main"
    repo = _repo_dir(name, cache)
    try:
        commit = _resolve_commit(endpoint, name, revision, token)
    except urllib.error.URLError as e:
        raise RuntimeError(f"hf:{name}: not a local directory, not in the Hugging Face cache at {cache}, and "
                           f"the hub is unreachable ({e.reason}); copy the model directory to the node and "
                           f"use hf:<directory>") from None
    snaps = repo / "snapshots"
    final = snaps / commit
    if not (final / "config.json").is_file():
        snaps.mkdir(parents=True, exist_ok=True)
        tmp = snaps / f".partial-{commit}-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            got = []
            for fname in HF_FILES + ("pytorch_model.bin",):
                if fname == "pytorch_model.bin" and "model.safetensors" in got:
                    break  # safetensors preferred: the pickle is not even fetched
                url = f"{endpoint}/{name}/resolve/{commit}/{fname}"
                try:
                    if _fetch(url, tmp / fname, token):
                        got.append(fname)
                except urllib.error.URLError as e:
                    raise CheckpointError(f"downloading {url}: {e.reason}") from None
            if "config.json" not in got:
                raise CheckpointError(f"hf:{name}: the hub has no config.json for it at {commit}")
            if "model.safetensors" not in got and "pytorch_model.bin" not in got:
                raise CheckpointError(f"hf:{name}: the hub has neither model.safetensors nor pytorch_model.bin at {commit}")
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / "config.json").is_file():  # not a concurrent download that finished first
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
            dfd = os.open(snaps, os.O_RDONLY)
            os.fsync(dfd)
            os.close(dfd)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _write_ref(repo, revision, commit)
    return final


def resolve_hf(name, download=True):
    """Directory holding an HF model: local path, cache snapshot, or a fresh download.
    `name`: a directory, org/model, or org/model@revision (a branch, tag or commit)."""
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise FileNotFoundError(f"hf:{name}: directory has no config.json")
        return p
    m = re.fullmatch(r"([\w.-]+(?:/[\w.-]+)?)(?:@([\w.-]+))?", name)
    if not m or (m.group(2) or "").startswith(".") or ".." in m.group(1):
        raise FileNotFoundError(f"hf:{name}: no such directory, and not a hub name like org/model or org/model@revision")
    repo, revision = m.group(1), m.group(2)
    cache = hf_cache_dir()
    snap = _cached_snapshot(repo, cache, revision)
    if snap is not None:
        return snap
    if not download:
        raise FileNotFoundError(f"hf:{name}: not in the Hugging Face cache at {cache}")
    return _download(repo, cache, revision)


# ----------------------------------------------------------------------------- HF GPT-2 and Llama

def _require(cfg, key, want, where):
    have = cfg.get(key, want)
    if have != want:
        raise ValueError(f"{where}: {key} = {have!r} is not supported (this agent implements {want!r})")


def gpt2_from_hf(hf_cfg, sd, where):
    """(GPTConfig, state dict in gpt.GPT names) from HF GPT-2 config + weights."""
    _require(hf_cfg, "activation_function", "gelu_new", where)
    _require(hf_cfg, "layer_norm_epsilon", 1e-5, where)
    _require(hf_cfg, "scale_attn_weights", True, where)
    for key in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        _require(hf_cfg, key, False, where)
    tie = hf_cfg.get("tie_word_embeddings", True)
    cfg = GPTConfig(n_layer=hf_cfg["n_layer"], n_head=hf_cfg["n_head"], n_embd=hf_cfg["n_embd"],
                    block_size=hf_cfg["n_positions"], vocab_size=hf_cfg["vocab_size"], tie_embeddings=tie)
    out = {}
    for name, t in sd.items():
        n = name[len("transformer."):] if name.startswith("transformer.") else name
        if n.endswith(".attn.bias") or n.endswith(".attn.masked_bias"):
            continue  # causal-mask buffers of older checkpoints, not parameters
        if n == "lm_head.weight":
            if tie:
                continue  # the tied copy of wte
            n = "lm_head"
        elif n in ("wte.weight", "wpe.weight"):
            n = n[:-len(".weight")]
        out[n] = t.float() if t.is_floating_point() else t
    return cfg, out


LLAMA_MAP = {"q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
             "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
             "down_proj": "mlp.down_proj"}


def llama_from_hf(hf_cfg, sd, where):
    """(RopeConfig, state dict in llama.RopeGPT names) from an HF Llama-style config + weights."""
    _require(hf_cfg, "hidden_act", "silu", where)
    _require(hf_cfg, "rope_scaling", None, where)
    _require(hf_cfg, "attention_bias", False, where)
    _require(hf_cfg, "mlp_bias", False, where)
    C, H = hf_cfg["hidden_size"], hf_cfg["num_attention_heads"]
    if hf_cfg.get("head_dim", C // H) != C // H:
        raise ValueError(f"{where}: head_dim {hf_cfg['head_dim']} != hidden_size / num_attention_heads is not supported")
    tie = hf_cfg.get("tie_word_embeddings", False)
    cfg = RopeConfig(n_layer=hf_cfg["num_hidden_layers"], n_head=H, n_kv_head=hf_cfg.get("num_key_value_heads", H),
                     n_embd=C, intermediate_size=hf_cfg["intermediate_size"],
                     block_size=hf_cfg["max_position_embeddings"], vocab_size=hf_cfg["vocab_size"],
                     rope_theta=float(hf_cfg.get("rope_theta", 10000.0)), norm_eps=float(hf_cfg.get("rms_norm_eps", 1e-6)),
                     tie_embeddings=tie, mlp="swiglu")
    out = {}
    for name, t in sd.items():
        t = t.float()
        if name.endswith("rotary_emb.inv_freq"):
            continue  # a buffer recomputed from rope_theta
        if name == "lm_head.weight":
            if not tie:
                out["lm_head"] = t
            continue
        n = name[len("model."):] if name.startswith("model.") else name
        if n == "embed_tokens.weight":
            out["embed_tokens"] = t
            continue
        m = re.fullmatch(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.weight", n)
        if m and m.group(2) in LLAMA_MAP:
            out[f"layers.{m.group(1)}.{LLAMA_MAP[m.group(2)]}.weight"] = t.t().contiguous()  # (out, in) -> (in, out)
        else:
            out[n] = t  # norms keep their names; anything unknown fails in load_single_state_dict
    return cfg, out


def llama_tokenizer(directory):
    """Tokenizer of a Llama-style HF model: tokenizer.json with a byte-level BPE model (SmolLM's is
    GPT-2 style), read as vocab + merges, split with GPT-2's pattern; role markers as plain text as
    for GPT-2 (the base model knows no chat tokens), the end of a reply being the model's eos. Needs the tokenizer.json layout {"model": {"type": "BPE", "vocab", "merges"},
    "added_tokens": [...]}."""
    d = Path(directory)
    tj = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    model = tj["model"]
    if model.get("type") != "BPE":
        raise ValueError(f"{d}/tokenizer.json: model type {model.get('type')!r}; only byte-level BPE is supported")
    byte_dec = {c: b for b, c in TK.bytes_to_unicode().items()}
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
    return TK.GPT2ChatTokenizer(TK.BytePairEncoding(ranks, TK.GPT2_PATTERN, specials, name="llama"), end_token=name)


# ----------------------------------------------------------------------------- nanochat

def nanochat_from_state(model_config, sd):
    mc = model_config
    cfg = RopeConfig(n_layer=mc["n_layer"], n_head=mc["n_head"], n_kv_head=mc.get("n_kv_head", mc["n_head"]),
                     n_embd=mc["n_embd"], intermediate_size=4 * mc["n_embd"], block_size=mc["sequence_len"],
                     vocab_size=mc["vocab_size"], rope_theta=10000.0, norm_eps=float(torch.finfo(torch.float32).eps),
                     tie_embeddings=False, mlp="relu2", norm_weights=False, qk_norm=True, embed_norm=True,
                     logit_softcap=15.0, rope_sign=-1)
    names = {"attn.c_q": "self_attn.q_proj", "attn.c_k": "self_attn.k_proj", "attn.c_v": "self_attn.v_proj",
             "attn.c_proj": "self_attn.o_proj", "mlp.c_fc": "mlp.up_proj", "mlp.c_proj": "mlp.down_proj"}
    out = {}
    for name, t in sd.items():
        n = name[len("_orig_mod."):] if name.startswith("_orig_mod.") else name
        t = t.float()
        if n == "transformer.wte.weight":
            out["embed_tokens"] = t
        elif n == "lm_head.weight":
            out["lm_head"] = t
        else:
            m = re.fullmatch(r"transformer\.h\.(\d+)\.(attn\.c_\w+|mlp\.c_\w+)\.weight", n)
            if not m or m.group(2) not in names:
                raise ValueError(f"nanochat checkpoint: unexpected tensor {name!r}")
            out[f"layers.{m.group(1)}.{names[m.group(2)]}.weight"] = t.t().contiguous()
    return cfg, out


def nanochat_files(directory):
    """(model_*.pt, meta_*.json, step) of the highest step in a nanochat checkpoint directory."""
    d = Path(directory)
    steps = sorted(int(m.group(1)) for p in d.glob("model_*.pt") if (m := re.fullmatch(r"model_(\d+)\.pt", p.name)))
    if not steps:
        raise FileNotFoundError(f"nanochat:{d}: no model_<step>.pt files")
    step = steps[-1]
    model = next(p for p in d.glob("model_*.pt") if int(p.stem[len("model_"):]) == step)
    meta = d / f"meta_{model.stem[len('model_'):]}.json"
    if not meta.is_file():
        raise FileNotFoundError(f"nanochat:{d}: {model.name} has no {meta.name}")
    return model, meta, step


def nanochat_tokenizer_path(directory):
    d = Path(directory)
    for p in (d / "tokenizer.pkl", d / "tokenizer" / "tokenizer.pkl", d.parent.parent / "tokenizer" / "tokenizer.pkl"):
        if p.is_file():
            return p
    raise FileNotFoundError(f"nanochat:{d}: tokenizer.pkl not found in the directory, its tokenizer/ or "
                            f"{d.parent.parent / 'tokenizer'}")


# ----------------------------------------------------------------------------- entry points

@dataclass
class Loaded:
    kind: str        # "gpt" (gpt.GPT) or "rope" (llama.RopeGPT)
    cfg: object      # GPTConfig or RopeConfig
    state_dict: dict
    tokenizer: object
    source: str      # the directory or file it came from


def load(checkpoint, resources=None):
    """Loaded for a spec's model.checkpoint other than "scratch"."""
    if checkpoint == "tiny":
        path = (resources or R.resources_dir()) / "tiny-gpt"
        cfg, sd = R.load_checkpoint(path)
        return Loaded("gpt", cfg, sd, TK.ByteChatTokenizer(), str(path))
    if checkpoint.startswith("hf:"):
        d = resolve_hf(checkpoint[3:])
        hf_cfg = json.loads((d / "config.json").read_text())
        where = f"{d}/config.json"
        kind = hf_cfg.get("model_type")
        sd = read_weights(d)
        if kind == "gpt2":
            cfg, sd = gpt2_from_hf(hf_cfg, sd, where)
            return Loaded("gpt", cfg, sd, TK.load_gpt2_tokenizer(d), str(d))
        if kind == "llama":
            cfg, sd = llama_from_hf(hf_cfg, sd, where)
            return Loaded("rope", cfg, sd, llama_tokenizer(d), str(d))
        raise ValueError(f"{where}: model_type {kind!r} is not supported; supported: gpt2, llama")
    if checkpoint.startswith("nanochat:"):
        d = Path(checkpoint[len("nanochat:"):]).expanduser()
        model_path, meta_path, _ = nanochat_files(d)
        meta = json.loads(meta_path.read_text())
        if "model_config" not in meta:
            raise ValueError(f"{meta_path}: no model_config")
        cfg, sd = nanochat_from_state(meta["model_config"], load_torch_weights(model_path))
        return Loaded("rope", cfg, sd, TK.load_nanochat_tokenizer(nanochat_tokenizer_path(d)), str(model_path))
    raise ValueError(f"model.checkpoint: unknown checkpoint {checkpoint!r}; use tiny, scratch, hf:<dir or name> "
                     f"or nanochat:<dir>")


def build(loaded, K, device=None, dtype=None):
    """K identical replicas of a Loaded checkpoint."""
    cls = GPT if loaded.kind == "gpt" else RopeGPT
    return cls(loaded.cfg, K, device, dtype).load_single_state_dict(loaded.state_dict)
