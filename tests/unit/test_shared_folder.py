"""Results in a project folder a research group shares: files get the umask's mode, not 0o600."""

import os
import stat

import pytest
import torch

from transferlab import io as tio


@pytest.fixture(params=[0o022, 0o002, 0o077], ids=["022", "002", "077"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_results_get_the_mode_of_a_plain_file(tmp_path, umask):
    with tio.atomic_path(tmp_path / "table.csv") as tmp:
        tmp.write_text("a,b\n")
    tio.atomic_write_json(tmp_path / "meta.json", {"a": 1})
    tio.save_torch({"w": torch.zeros(2)}, tmp_path / "weights.pt")
    with open(tmp_path / "plain.txt", "w"):
        pass
    want = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == want
    for name in ("table.csv", "meta.json", "weights.pt", "weights.pt.sha256"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want, name
    assert not list(tmp_path.glob(".*.tmp"))


def test_failed_write_leaves_the_old_file(tmp_path):
    final = tmp_path / "table.csv"
    final.write_text("old\n")
    with pytest.raises(RuntimeError), tio.atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert final.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
