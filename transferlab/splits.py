"""Class splits into halves A and B.

Random halves use the authors' recipe (numpy legacy RNG, classes indexed in
sorted-wnid order), so on ILSVRC2012 they are the paper's exact halves::

    np.random.seed([seed])
    A = sorted(np.random.choice(np.arange(n_classes), n_classes // 2, replace=False))

``RandomState([seed]).choice`` is the same stream without touching global state.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from .io import atomic_write_json


class SplitError(ValueError):
    pass


def random_halves(wnids: list[str], seed: int) -> dict:
    wnids = sorted(wnids)
    n = len(wnids)
    if n < 2:
        raise SplitError(f"need at least 2 classes to split, got {n}")
    a_idx = sorted(np.random.RandomState([int(seed)]).choice(np.arange(n), n // 2, replace=False))
    a_set = set(int(i) for i in a_idx)
    return {"A": [wnids[i] for i in sorted(a_set)], "B": [w for i, w in enumerate(wnids) if i not in a_set]}


def split_digest(split: dict) -> str:
    """md5 of the A list joined by newlines (handy to pin splits in tests)."""
    return hashlib.md5("\n".join(split["A"]).encode()).hexdigest()


def write_random_split(classes_file, seed: int, out) -> dict:
    wnids = json.load(open(classes_file))["wnids"]
    split = random_halves(wnids, seed)
    split["kind"] = "random"
    split["seed"] = int(seed)
    atomic_write_json(out, split)
    return split
