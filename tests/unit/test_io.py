"""transferlab.io: atomic writes, JSON and config hashes, checksummed torch checkpoints, the code revision."""

import hashlib
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from transferlab import io as tio
from transferlab.errors import CorruptCheckpoint


def test_atomic_path_publishes_on_success_only(tmp_path):
    final = tmp_path / "new" / "table.csv"  # the folder does not exist yet
    with tio.atomic_path(final) as a:
        assert a.parent == final.parent and a.name.startswith(".")  # beside it: os.replace stays on one filesystem
        a.write_text("kept\n")
        with pytest.raises(RuntimeError), tio.atomic_path(final) as b:
            assert b != a  # two jobs writing one target never share a temp file
            b.write_text("half")
            raise RuntimeError("killed")
        assert not final.exists()  # nothing at the target until the write completes
    assert final.read_text() == "kept\n"
    assert [p.name for p in final.parent.iterdir()] == ["table.csv"]  # no temp file of either writer is left


def test_json_is_sorted_and_takes_numpy_and_paths(tmp_path):
    obj = {"b": np.float32(0.5), "a": np.arange(3), "p": Path("x/y"), "nested": {"i": np.int64(7)}}
    tio.atomic_write_json(tmp_path / "meta.json", obj)
    text = (tmp_path / "meta.json").read_text()
    assert text.endswith("\n")
    back = json.loads(text)
    assert back == {"a": [0, 1, 2], "b": 0.5, "nested": {"i": 7}, "p": "x/y"} and list(back) == sorted(back)


def test_config_hash_depends_on_content_not_key_order():
    h = tio.config_hash({"a": 1, "b": {"c": [1, 2]}})
    assert h == tio.config_hash({"b": {"c": [1, 2]}, "a": 1}) == tio.config_hash({"a": 1, "b": {"c": np.array([1, 2])}})
    assert h != tio.config_hash({"a": 1, "b": {"c": [1, 3]}})


def test_sha256_file_hashes_past_the_first_chunk(tmp_path):
    data = np.random.default_rng(0).bytes(5 << 19)  # 2.5 MiB: more than one read
    (tmp_path / "f").write_bytes(data)
    assert tio.sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()
    (tmp_path / "f").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # the last byte differs
    assert tio.sha256_file(tmp_path / "f") != hashlib.sha256(data).hexdigest()


def test_save_torch_round_trips_and_overwrites(tmp_path):
    path = tmp_path / "weights.pt"
    for step in (1, 2):  # the second save replaces the first, checksum included
        tio.save_torch({"w": torch.arange(4.0) * step, "step": step}, path)
        back = tio.load_torch(path)
        assert back["step"] == step and torch.equal(back["w"], torch.arange(4.0) * step)
    assert (tmp_path / "weights.pt.sha256").read_text().strip() == tio.sha256_file(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.pt", "weights.pt.sha256"]


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage, obj, verify, message",
    [
        (_flip_a_byte, {"w": torch.zeros(64)}, True, "checksum mismatch"),
        (
            lambda p: p.with_name("weights.pt.sha256").unlink(),
            {"w": torch.zeros(2)},
            True,
            r"no checksum file weights\.pt\.sha256",
        ),
        (lambda p: p.write_bytes(b"not a checkpoint"), {"w": torch.zeros(2)}, False, "cannot be read"),
        (lambda p: None, {"f": os.getcwd}, True, "cannot be read"),  # pickled code is refused, not run
    ],
    ids=["flipped", "no-sidecar", "garbage", "pickled-code"],
)
def test_load_torch_refuses_damaged_checkpoints(tmp_path, damage, obj, verify, message):
    path = tmp_path / "weights.pt"
    tio.save_torch(obj, path)
    damage(path)
    with pytest.raises(CorruptCheckpoint, match=rf"weights\.pt: {message}"):
        tio.load_torch(path, verify=verify)


@pytest.mark.parametrize(
    "rev, status, want",
    [
        (OSError("no git"), None, "unknown"),
        (subprocess.TimeoutExpired("git", 10), None, "unknown"),
        (SimpleNamespace(returncode=128, stdout=""), None, "unknown"),  # not a git checkout
        (SimpleNamespace(returncode=0, stdout="abc123\n"), "", "abc123"),
        (SimpleNamespace(returncode=0, stdout="abc123\n"), " M transferlab/io.py\n", "abc123-dirty"),
    ],
    ids=["no-git", "timeout", "not-a-repo", "clean", "modified"],
)
def test_code_revision(monkeypatch, rev, status, want):
    def run(cmd, **kwargs):
        if cmd[1] == "status":
            return SimpleNamespace(returncode=0, stdout=status)
        if isinstance(rev, Exception):
            raise rev
        return rev

    monkeypatch.setattr(tio.subprocess, "run", run)
    assert tio.code_revision() == want


def test_uncommitted_changes_name_the_tracked_files_that_differ(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / "b.py").write_text("b\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
    assert tio.uncommitted_changes(tmp_path) == []
    (tmp_path / "b.py").write_text("changed\n")
    (tmp_path / "new.py").write_text("untracked: not a change of the code that ran\n")
    assert tio.uncommitted_changes(tmp_path) == ["b.py"]
