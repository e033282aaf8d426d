"""Our splits of ILSVRC2012 are the paper's: pinned to the md5 sums the authors published.

The authors (github.com/yosinski/convnet_transfer, ``ilsvrc12/make_reduced_datasets.sh``, comments at
its end) list ``md5sum`` of every half's Caffe image list ``files.txt``: one line
``<image> <label within the half>`` per validation image, in image order, labels the class's rank
in the half's sorted class list. We rebuild those files from our own code path
(:func:`splits.random_halves` / :func:`splits.natman_halves` on the ImageNet-1k class list, and
:func:`data.half_index` for the per-half labels) and compare the digests.

``tests/data/ilsvrc2012_val_labels.txt.gz``: the class index (sorted-wnid order, as Caffe's
``val.txt``) of each of the 50,000 ILSVRC2012 validation images, ``ILSVRC2012_val_00000001`` first.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from transferlab.data import datasets as data
from transferlab.data import splits

HERE = Path(__file__).resolve().parents[1]  # tests/, which holds data/
WNIDS = (HERE.parent / "transferlab/reference/imagenet1k_wnids.txt").read_text().split()

# The authors' published digests of half<seed>{A,B}_valid/files.txt and halfnatman{A,B}_valid/files.txt
PUBLISHED = {
    (0, "A"): "2f10009e20d77eb7007cf70674958b94",
    (0, "B"): "cce39b383d681345c873faf2c0c28d33",
    (1, "A"): "9ab48b6420504e32ff4498e7d8569f8b",
    (1, "B"): "57522f5e2aa69547846089f5197c8a6b",
    (2, "A"): "03d05b6565ab9176baccdd05d746bfd1",
    (2, "B"): "18de8b37378e07e60dc602b6130eeeb2",
    (3, "A"): "46086440ddde128f169f23331998499d",
    (3, "B"): "e5f9f0895fd0d49a8ac0b804ec891282",
}
PUBLISHED_NATMAN = {"A": "4fb63c72229ba07106a558127192cb9f", "B": "f03be5732fb6bc7928ee53397b043613"}
MASHED_POTATO = "n07711569"  # the one class where our WordNet rule and the paper's lists differ


@pytest.fixture(scope="module")
def val_labels() -> np.ndarray:
    raw = gzip.decompress((HERE / "data/ilsvrc2012_val_labels.txt.gz").read_bytes()).split()
    labels = np.array(raw, dtype=np.int64)
    assert labels.shape == (50_000,) and labels.min() == 0 and labels.max() == 999
    return labels


def files_txt_md5(val_labels: np.ndarray, half: list[str]) -> str:
    idx, y = data.half_index(val_labels, WNIDS, half)
    text = "".join(f"ILSVRC2012_val_{i + 1:08d}.JPEG {c}\n" for i, c in zip(idx.tolist(), y.tolist(), strict=True))
    return hashlib.md5(text.encode()).hexdigest()


def test_class_list_is_ilsvrc2012():
    assert len(WNIDS) == 1000 == len(set(WNIDS)) and WNIDS == sorted(WNIDS)
    assert hashlib.md5(("\n".join(WNIDS) + "\n").encode()).hexdigest() == "5ef135d00f8768c0f62853cd9dbc563d"


@pytest.mark.parametrize("seed,half", sorted(PUBLISHED))
def test_random_halves_are_the_papers(val_labels, seed, half):
    split = splits.random_halves(WNIDS, seed)
    assert files_txt_md5(val_labels, split[half]) == PUBLISHED[(seed, half)]


def test_a_different_seed_or_swapped_half_does_not_match(val_labels):
    # the digests tell halves and seeds apart, so the test above cannot pass by accident
    s0, s1 = splits.random_halves(WNIDS, 0), splits.random_halves(WNIDS, 1)
    assert files_txt_md5(val_labels, s0["B"]) != PUBLISHED[(0, "A")]
    assert files_txt_md5(val_labels, s1["A"]) != PUBLISHED[(0, "A")]


def test_natural_man_made_is_the_papers_but_for_mashed_potato(val_labels):
    s = splits.natman_halves(WNIDS)
    assert (len(s["A"]), len(s["B"])) == (450, 550)
    assert files_txt_md5(val_labels, s["A"]) != PUBLISHED_NATMAN["A"]
    # moving mashed potato to man-made gives the paper's 449 / 551 halves exactly
    nat = [w for w in s["A"] if w != MASHED_POTATO]
    man = sorted(s["B"] + [MASHED_POTATO])
    assert files_txt_md5(val_labels, nat) == PUBLISHED_NATMAN["A"]
    assert files_txt_md5(val_labels, man) == PUBLISHED_NATMAN["B"]
