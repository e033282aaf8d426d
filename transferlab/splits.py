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


# ----------------------------------------------------------------------------- natural vs man-made
# A class is natural when its synset or any hypernym is one of these (WordNet 3.0);
# everything else is man-made (artifacts, prepared food and drink, signs, ...).
NATURAL_ROOTS = (
    "living_thing.n.01",  # animals, plants, fungi, people
    "geological_formation.n.01",  # volcano, cliff, coral reef, valley, ...
    "natural_object.n.01",  # stones, shells, ...
    "produce.n.01",  # fruit, vegetables, edible mushrooms
    "fodder.n.02",  # hay
)

INSTALL_WORDNET = (
    "WordNet for nltk is not installed and could not be downloaded. Install it with "
    "`python -m nltk.downloader wordnet` (on a machine with internet), or point NLTK_DATA at a folder "
    "holding corpora/wordnet.zip"
)


def load_wordnet():
    """nltk's WordNet reader; downloads the corpus once if it is missing."""
    import nltk
    from nltk.corpus import wordnet as wn

    try:
        wn.ensure_loaded()
        return wn
    except LookupError:
        pass
    try:
        ok = nltk.download("wordnet", quiet=True, raise_on_error=True)
    except Exception:  # noqa: BLE001 - any network failure ends in the same advice
        ok = False
    if not ok:
        raise SplitError(INSTALL_WORDNET)
    from nltk.corpus import wordnet as wn2

    try:
        wn2.ensure_loaded()
    except LookupError as e:
        raise SplitError(INSTALL_WORDNET) from e
    return wn2


def synset_of(wn, wnid: str):
    import warnings

    err = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = wn.synset_from_pos_and_offset("n", int(wnid[1:]))
    except Exception as e:  # nltk raises WordNetError / ValueError
        s, err = None, e
    if s is None:
        raise SplitError(f"class {wnid} is not a WordNet 3.0 noun synset (expected n + 8-digit offset)") from err
    return s


def is_natural(wn, wnid: str) -> bool:
    s = synset_of(wn, wnid)
    roots = {wn.synset(r) for r in NATURAL_ROOTS}
    if s in roots:
        return True
    return any(h in roots for h in s.closure(lambda x: x.hypernyms() + x.instance_hypernyms()))


def natman_halves(wnids: list[str], wn=None) -> dict:
    wn = wn or load_wordnet()
    wnids = sorted(wnids)
    nat = [w for w in wnids if is_natural(wn, w)]
    man = [w for w in wnids if w not in set(nat)]
    if not nat or not man:
        raise SplitError(f"natural/man-made split of {len(wnids)} classes leaves a half empty "
                         f"({len(nat)} natural, {len(man)} man-made)")
    return {"A": nat, "B": man, "names": {"A": "natural", "B": "man-made"}}


def write_natman_split(classes_file, out) -> dict:
    wnids = json.load(open(classes_file))["wnids"]
    split = natman_halves(wnids)
    split["kind"] = "natman"
    atomic_write_json(out, split)
    return split
