"""The per-sweep journal: seq order, replay after N, damage reported and skipped, torn tails truncated."""
import json
import os

import numpy as np
import pytest

from fractal_agent import spec as S
from fractal_agent import tiles
from fractal_agent.journal import Journal, JournalError, read_events

ENV = {"agent": "test", "torch": None}


def tiny_spec(nx=8, ny=8):
    return S.validate({
        "version": 1, "name": "tiny",
        "model": {"family": "mlp", "width": 4, "activation": "tanh", "seed": 0},
        "train": {"optimizer": "gd", "steps": 50},
        "axes": {"x": {"param": "lr.input", "scale": "log", "range": [-1, 2], "points": nx},
                 "y": {"param": "lr.output", "scale": "log", "range": [-1, 2], "points": ny}},
    })


def fake_results(cells):
    """Journal input with the CellResults layout (the journal stores whatever the trainer returns)."""
    cells = np.asarray(cells, dtype=np.int64)
    return {"cell": cells, "score": cells * 0.5, "trainable": (cells % 2).astype(np.uint8)}


def collect():
    seen = []
    return seen, seen.append


def write_sweep(tmp_path, chunks=((0, 1, 2), (3, 4)), done=True):
    j, existing = Journal.open_or_create(tmp_path / "s", "s1", tiny_spec(), ENV)
    assert not existing
    for c in chunks:
        j.append_tile(0, fake_results(c))
    if done:
        j.append_done("completed")
    j.close()
    return tmp_path / "s" / "journal.jsonl"


def test_events_have_increasing_seq_and_the_state_is_derived_from_them(tmp_path):
    path = write_sweep(tmp_path)
    events = list(read_events(path))
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert [e["type"] for e in events] == ["sweep", "tile", "tile", "done"]
    assert events[0]["spec"] == tiny_spec() and events[0]["cells"] == 64 and events[0]["sweep"] == "s1"
    assert json.loads((tmp_path / "s" / "spec.json").read_text()) == tiny_spec()
    assert json.loads((tmp_path / "s" / "env.json").read_text()) == ENV
    assert tiles.unpack(events[2])["cell"].tolist() == [3, 4]
    assert events[3]["status"] == "completed"
    # every line on disk is one compact JSON object with seq first
    assert all(line.startswith(b'{"seq":') for line in path.read_bytes().splitlines())

    j = Journal(tmp_path / "s")
    assert (j.sweep_id, j.last_seq, j.status, j.done_count, j.total) == ("s1", 4, "completed", 5, 64)
    assert np.flatnonzero(j.done).tolist() == [0, 1, 2, 3, 4]
    j.close()


def test_replay_after_seq_n_returns_exactly_the_later_events(tmp_path):
    path = write_sweep(tmp_path, chunks=[(i,) for i in range(10)])
    everything = list(read_events(path))
    for n in (0, 1, 5, 11, 12):
        assert list(read_events(path, since=n)) == everything[n:]
    assert [e["seq"] for e in read_events(path, since=3, until=6)] == [4, 5, 6]


def test_a_garbage_line_is_reported_with_position_and_skipped(tmp_path):
    path = write_sweep(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    damaged = lines[:2] + [b"\x00\x17garbage{\n"] + lines[2:]
    path.write_bytes(b"".join(damaged))
    warnings, warn = collect()
    events = list(read_events(path, warn=warn, sweep="s1"))
    assert [e["seq"] for e in events] == [1, 2, 3, 4], "nothing after the bad line is lost"
    assert len(warnings) == 1
    w = warnings[0]
    assert w["type"] == "warning" and w["sweep"] == "s1"
    assert w["line"] == 3 and w["offset"] == len(lines[0]) + len(lines[1])
    assert "line 3" in w["message"] and "not JSON" in w["message"]


def test_a_line_whose_seq_does_not_follow_is_skipped(tmp_path):
    path = write_sweep(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3] + [lines[1]] + lines[3:]))  # seq 2 again after seq 3
    warnings, warn = collect()
    assert [e["seq"] for e in read_events(path, warn=warn)] == [1, 2, 3, 4]
    assert len(warnings) == 1 and warnings[0]["line"] == 4 and "seq 2 does not follow seq 3" in warnings[0]["message"]


def test_a_torn_final_line_is_reported_by_readers_and_truncated_by_the_next_writer(tmp_path):
    path = write_sweep(tmp_path, done=False)
    intact = path.read_bytes()
    torn_line = b'{"seq":4,"type":"tile","sweep":"s1","level":0,"count":2,"fields":{"cell":{"dty'
    path.write_bytes(intact + torn_line)
    warnings, warn = collect()
    assert [e["seq"] for e in read_events(path, warn=warn)] == [1, 2, 3]
    assert len(warnings) == 1 and warnings[0]["line"] == 4 and warnings[0]["offset"] == len(intact)
    assert "torn final line" in warnings[0]["message"]

    warnings.clear()
    j = Journal(tmp_path / "s", warn=warn)
    assert path.read_bytes() == intact
    assert any("truncating a torn final line" in w["message"] for w in warnings)
    assert j.last_seq == 3 and j.done_count == 5 and j.status is None
    j.append_tile(1, fake_results([5, 6]))
    j.append_done("completed")
    j.close()
    warnings.clear()
    assert [e["seq"] for e in read_events(path, warn=warn)] == [1, 2, 3, 4, 5]
    assert warnings == []


def test_no_cell_is_recorded_twice(tmp_path):
    path = write_sweep(tmp_path, done=False)
    j = Journal(tmp_path / "s")
    with pytest.raises(JournalError, match="twice"):
        j.append_tile(0, fake_results([4, 5]))  # 4 is already recorded
    with pytest.raises(JournalError, match="twice"):
        j.append_tile(0, fake_results([7, 7]))
    j.close()
    # A journal that somehow holds a duplicate: the first record counts, and the reader warns.
    lines = path.read_bytes().splitlines(keepends=True)
    dup = json.loads(lines[2])
    dup["seq"] = 4
    path.write_bytes(b"".join(lines) + (json.dumps(dup) + "\n").encode())
    warnings, warn = collect()
    j = Journal(tmp_path / "s", warn=warn)
    assert j.done_count == 5 and j.last_seq == 4
    assert len(warnings) == 1 and "already recorded" in warnings[0]["message"]
    j.close()


def test_pending_cells_follow_coarse_to_fine_order_without_the_recorded_ones(tmp_path):
    write_sweep(tmp_path, done=False)
    j = Journal(tmp_path / "s")
    cells, levels = j.pending()
    order, order_levels = S.coarse_to_fine(8, 8)
    keep = ~np.isin(order, [0, 1, 2, 3, 4])
    assert cells.tolist() == order[keep].tolist() and levels.tolist() == order_levels[keep].tolist()
    j.close()


def test_one_writer_per_journal_and_a_different_spec_is_refused(tmp_path):
    write_sweep(tmp_path, done=False)
    j = Journal(tmp_path / "s")
    with pytest.raises(JournalError, match="another process"):
        Journal(tmp_path / "s")
    j.close()
    with pytest.raises(JournalError, match="different spec"):
        Journal.open_or_create(tmp_path / "s", "s1", tiny_spec(16, 8), ENV)
    j, existing = Journal.open_or_create(tmp_path / "s", "s1", tiny_spec(), ENV)
    assert existing and j.done_count == 5
    j.close()


def test_sweep_directories_are_private(tmp_path):
    write_sweep(tmp_path)
    assert os.stat(tmp_path / "s").st_mode & 0o777 == 0o700
    assert os.stat(tmp_path / "s" / "journal.jsonl").st_mode & 0o777 == 0o600
