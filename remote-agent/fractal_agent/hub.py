"""Hugging Face models by name: found in the local cache, else downloaded with urllib, pinned and checked.

Where hf:<name>[@<revision>] is looked for, in order: a local directory of that path; the Hugging
Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) in its layout
models--ORG--NAME/snapshots/<commit>/ (the commit refs/<revision> names, default refs/main, else a
snapshot named by the revision itself, else the only snapshot); else the files are downloaded with
urllib from $HF_ENDPOINT (default https://huggingface.co, the variable huggingface_hub also reads
for mirrors) into that cache layout ($HF_TOKEN is sent when set). The tests exercise the download
against local HTTP servers in the hub's URL layout; the real hub cannot be reached from the
development machines.

Downloads are pinned and checked (_download): the revision (default main) is first resolved to a
commit (/api/models/<name>/revision/<rev>; a 40-hex revision is taken as the commit), every file is
fetched from /<name>/resolve/<commit>/<file>, so all of a model's files come from one commit, and
refs/<rev> records which. Each file is checked against the size and hash the hub announces: LFS
files (weights) carry X-Linked-Etag = their sha256 and X-Linked-Size on the hub's redirect, small
files an ETag = their git blob sha1; a mismatch or a short body is an error. Files go to a hidden
snapshots/.partial-* directory that is renamed to snapshots/<commit> only when all are complete:
an interrupted download never looks like a cached model. Redirects are followed by hand, and the
$HF_TOKEN Authorization header is sent only to the endpoint's own host and port, never to a
redirect target elsewhere (the CDN).
"""
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .weights import CheckpointError

HF_FILES = ("config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json")


def hf_cache_dir():
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


_COMMIT = re.compile(r"[0-9a-f]{40}")


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
