"""Checkpoints never run code, and hub downloads are pinned, verified and atomic (issue 15, item 8).

A fake hub (http.server on 127.0.0.1) in the hub's URL layout: /api/models/<repo>/revision/<rev>
names a commit, small files are served with their git blob sha1 as ETag, weights (LFS) answer with
a 302 to a "CDN" on another host (127.0.0.2) carrying X-Linked-Etag (sha256) and X-Linked-Size,
as huggingface.co does. Both servers record every request's headers.
"""
import hashlib
import http.server
import json
import os
import threading

import pytest
import torch

from fractal_agent import checkpoints as CK
from fractal_agent.hub import resolve_hf
from fractal_agent.weights import CheckpointError, load_torch_weights, read_weights, write_safetensors

COMMIT = "1111111111111111111111111111111111111111"
COMMIT2 = "2222222222222222222222222222222222222222"


class Server:
    def __init__(self, host, route):
        requests = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append((self.path, dict(self.headers)))
                status, headers, body = route(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if headers.get("Connection") == "close":
                    self.close_connection = True

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """Commits {commit: {file: bytes}}; `main` names one; `cdn_mode` damages what the CDN sends."""

    def __init__(self, commits, main):
        self.commits, self.main, self.cdn_mode = commits, main, "ok"
        self.blobs = {hashlib.sha256(b).hexdigest(): b for files in commits.values() for b in files.values()}
        self.cdn = Server("127.0.0.2", lambda path: self.cdn_route(path))
        self.hub = Server("127.0.0.1", lambda path: self.hub_route(path))

    def hub_route(self, path):
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and parts[4] == "revision":
            rev = parts[5]
            commit = self.main if rev == "main" else rev if rev in self.commits else None
            return (200, {}, json.dumps({"sha": commit}).encode()) if commit else (404, {}, b"")
        org, name, resolve, commit, fname = parts
        data = self.commits.get(commit, {}).get(fname)
        if data is None:
            return 404, {}, b""
        if fname.endswith((".safetensors", ".bin")):  # LFS: a redirect to the CDN with the file's sha256
            sha = hashlib.sha256(data).hexdigest()
            return 302, {"Location": f"{self.cdn.url}/blobs/{sha}", "X-Linked-Etag": f'"{sha}"',
                         "X-Linked-Size": str(len(data)), "ETag": f'"{git_sha1(data)[:8]}"'}, b""
        return 200, {"ETag": f'"{git_sha1(data)}"'}, data

    def cdn_route(self, path):
        data = self.blobs[path.rsplit("/", 1)[1]]
        if self.cdn_mode == "truncate":  # says the whole length, sends half, hangs up
            return 200, {"Content-Length": str(len(data)), "Connection": "close"}, data[:len(data) // 2]
        if self.cdn_mode == "corrupt":
            return 200, {}, data[:-1] + bytes([data[-1] ^ 1])
        return 200, {}, data

    def close(self):
        self.hub.close()
        self.cdn.close()


def model_files(tmp_path, seed):
    g = torch.Generator().manual_seed(seed)
    sd = {"w": torch.randn(64, 32, generator=g), "b": torch.randn(32, generator=g)}
    path = tmp_path / f"w{seed}.safetensors"
    write_safetensors(path, sd)
    return {"config.json": json.dumps({"model_type": "gpt2", "seed": seed}).encode(),
            "model.safetensors": path.read_bytes()}, sd


@pytest.fixture
def hub(tmp_path, monkeypatch):
    files1, sd1 = model_files(tmp_path, 1)
    files2, sd2 = model_files(tmp_path, 2)
    h = FakeHub({COMMIT: files1, COMMIT2: files2}, main=COMMIT)
    h.sd = {COMMIT: sd1, COMMIT2: sd2}
    monkeypatch.setenv("HF_ENDPOINT", h.hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token")
    yield h
    h.close()


def snapshots(tmp_path):
    d = tmp_path / "cache" / "models--org--m" / "snapshots"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def assert_weights(directory, sd):
    got = read_weights(directory)
    assert set(got) == set(sd) and all(torch.equal(got[k], sd[k]) for k in sd)


def test_a_download_is_pinned_to_a_commit_and_the_token_never_leaves_the_hub(tmp_path, hub):
    d = resolve_hf("org/m")
    assert d == tmp_path / "cache" / "models--org--m" / "snapshots" / COMMIT
    assert (d.parent.parent / "refs" / "main").read_text() == COMMIT
    assert_weights(d, hub.sd[COMMIT])
    resolves = [p for p, _ in hub.hub.requests if "/resolve/" in p]
    assert resolves and all(f"/resolve/{COMMIT}/" in p for p in resolves), "every file from the one commit"
    assert all(h.get("Authorization") == "Bearer hf_secret_token" for _, h in hub.hub.requests)
    assert hub.cdn.requests, "the weights came through the redirect to the other host"
    assert all("Authorization" not in h for _, h in hub.cdn.requests), "the token must not follow a redirect"

    hub.main = COMMIT2  # main moves on: the cached model stays the pinned commit
    assert resolve_hf("org/m") == d
    pinned = resolve_hf(f"org/m@{COMMIT2}")  # an explicit revision fetches exactly that commit
    assert pinned.name == COMMIT2
    assert_weights(pinned, hub.sd[COMMIT2])


def test_a_truncated_download_fails_and_never_looks_cached(tmp_path, hub):
    hub.cdn_mode = "truncate"
    with pytest.raises(CheckpointError, match="model.safetensors"):
        resolve_hf("org/m")
    assert snapshots(tmp_path) == [], "nothing left behind, not even the partial directory"
    with pytest.raises(FileNotFoundError, match="not in the Hugging Face cache"):
        resolve_hf("org/m", download=False)

    # A download killed half-way (the process died) leaves only a hidden directory: still not cached.
    partial = tmp_path / "cache" / "models--org--m" / "snapshots" / f".partial-{COMMIT}-1-abcd"
    partial.mkdir(parents=True)
    (partial / "config.json").write_bytes(hub.commits[COMMIT]["config.json"])
    (partial / "model.safetensors").write_bytes(hub.commits[COMMIT]["model.safetensors"][:100])
    with pytest.raises(FileNotFoundError, match="not in the Hugging Face cache"):
        resolve_hf("org/m", download=False)

    hub.cdn_mode = "ok"
    assert_weights(resolve_hf("org/m"), hub.sd[COMMIT])


def test_a_download_whose_sha256_differs_from_the_hubs_is_refused(tmp_path, hub):
    hub.cdn_mode = "corrupt"
    with pytest.raises(CheckpointError, match="sha256"):
        resolve_hf("org/m")
    assert not [s for s in snapshots(tmp_path) if not s.startswith(".")]


def test_a_small_file_whose_git_hash_differs_is_refused(tmp_path, hub):
    good = hub.commits[COMMIT]["config.json"]
    route = hub.hub_route
    hub.hub_route = lambda path: (200, {"ETag": f'"{git_sha1(good)}"'}, good + b" ") if path.endswith("config.json") \
        else route(path)
    with pytest.raises(CheckpointError, match="git blob sha1"):
        resolve_hf("org/m")


# ----------------------------------------------------------------------------- pickles

class RunsCode:
    """A pickle payload that runs a shell command when unpickled (what a hostile checkpoint does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_state_dict(marker):
    return {"transformer.wte.weight": torch.zeros(2, 2), "payload": RunsCode(marker)}


def test_the_payload_really_runs_code_when_loaded_unsafely(tmp_path):
    """The fixture is real: a plain pickle load of it runs the command."""
    marker = tmp_path / "ran"
    torch.save(evil_state_dict(marker), tmp_path / "evil.bin")
    torch.load(tmp_path / "evil.bin", map_location="cpu", **({"weights_only": False} if "weights_only" in
               torch.load.__code__.co_varnames else {}))
    assert marker.exists()


def test_a_pytorch_model_bin_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    torch.save(evil_state_dict(marker), d / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="refused"):
        read_weights(d)
    assert not marker.exists(), "the pickle's code ran"

    # With safetensors beside it, the pickle is not even opened.
    write_safetensors(d / "model.safetensors", {"w": torch.ones(3)})
    assert torch.equal(read_weights(d)["w"], torch.ones(3))
    assert not marker.exists()

    # A plain state dict still loads.
    torch.save({"w": torch.arange(4.0)}, tmp_path / "ok.bin")
    assert torch.equal(load_torch_weights(tmp_path / "ok.bin")["w"], torch.arange(4.0))


def test_a_nanochat_checkpoint_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    d = tmp_path / "d2"
    d.mkdir()
    torch.save(evil_state_dict(marker), d / "model_000001.pt")
    (d / "meta_000001.json").write_text(json.dumps({"model_config": {
        "sequence_len": 8, "vocab_size": 16, "n_layer": 1, "n_head": 1, "n_kv_head": 1, "n_embd": 8}}))
    with pytest.raises(CheckpointError, match="refused"):
        CK.load(f"nanochat:{d}")
    assert not marker.exists()
