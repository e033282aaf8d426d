"""Class splits into halves A and B, each kind with its name: random halves (``random-<seed>``), the
natural/man-made halves (``natman``, WordNet), the whole class set as one task (``all``; ``all-k<k>`` with k
training images per class) and the user's own halves (``splits:`` in the config, :func:`check_custom_split`).

The detail: docs/library.md, `transferlab/data/splits.py`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from transferlab.errors import SplitError
from transferlab.io import atomic_write_json

RANDOM, NATMAN, WHOLE = "random", "natman", "all"
# the workflow's own split names, as regular expressions (the split wildcard adds the user's)
SPLIT_PATTERNS = (rf"{RANDOM}-\d+", NATMAN, WHOLE, rf"{WHOLE}-k\d+")


def random_split_name(seed: int) -> str:
    return f"{RANDOM}-{int(seed)}"


def dataset_size_split_name(images_per_class: int) -> str:
    """The whole class set with ``images_per_class`` training images per class (``all-k10``)."""
    return f"{WHOLE}-k{int(images_per_class)}"


def split_kind(split: str) -> str:
    """``random``, ``natman``, ``all`` or ``dataset_size`` for one of the workflow's split names."""
    if split.startswith(f"{RANDOM}-"):
        return RANDOM
    if split in (NATMAN, WHOLE):
        return split
    if split.startswith(f"{WHOLE}-k"):
        return "dataset_size"
    raise SplitError(f"split name {split!r} is none of {', '.join(SPLIT_PATTERNS)}")


def split_file_of(split: str) -> str:
    """The split whose class file ``split`` uses (a dataset-size split ``all-k10`` uses ``all``)."""
    return WHOLE if split.startswith(f"{WHOLE}-k") else split


def train_per_class_of(split: str) -> int:
    """Training images per class of a dataset-size split (``all-k10``: 10); 0 for every other split."""
    return int(split[len(WHOLE) + 2 :]) if split.startswith(f"{WHOLE}-k") else 0


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
    split["kind"] = RANDOM
    split["seed"] = int(seed)
    atomic_write_json(out, split)
    return split


def write_whole_split(classes_file, out) -> dict:
    """Every class of the run as one task, half A (the random-weights and dataset-size experiments)."""
    split = {"A": json.loads(Path(classes_file).read_text())["wnids"], "kind": WHOLE}
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
        raise SplitError(
            f"natural/man-made split of {len(wnids)} classes leaves a half empty "
            f"({len(nat)} natural, {len(man)} man-made)"
        )
    return {"A": nat, "B": man, "names": {"A": "natural", "B": "man-made"}}


def write_natman_split(classes_file, out) -> dict:
    wnids = json.load(open(classes_file))["wnids"]
    split = natman_halves(wnids)
    split["kind"] = "natman"
    atomic_write_json(out, split)
    return split


# ----------------------------------------------------------------------------- the user's own halves
CUSTOM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_NAMES = (NATMAN, WHOLE)  # split names the workflow gives its own splits


def check_custom_split(name: str, path, classes: list[str] | None = None, selection: str = "") -> dict:
    """The user's halves of split ``name`` read from ``path`` (``{"A": [...], "B": [...]}`` of class names),
    checked: a name the workflow can use, two non-empty, disjoint lists of strings, and, when ``classes``
    (the dataset's selected classes) is given, every class in exactly one half and no other class.
    Raises :class:`SplitError` naming the file and what is wrong; returns ``{"A": sorted, "B": sorted}``."""
    where = f"config splits.{name} ({path})"
    if not CUSTOM_NAME_RE.match(name) or name in RESERVED_NAMES:
        raise SplitError(
            f"config splits.{name}: a split name must be lower-case letters, digits and _ "
            f"(starting with a letter) and not {' or '.join(RESERVED_NAMES)}, the workflow's own splits"
        )
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise SplitError(
            f"{where}: cannot read the file ({e.strerror or e}); expected a JSON file "
            '{"A": [...], "B": [...]} of class names'
        ) from e
    try:
        split = json.loads(text)
    except json.JSONDecodeError as e:
        raise SplitError(f'{where}: not valid JSON ({e}); expected {{"A": [...], "B": [...]}} of class names') from e
    if not isinstance(split, dict) or set(split) != {"A", "B"}:
        got = sorted(split) if isinstance(split, dict) else type(split).__name__
        raise SplitError(f'{where}: expected an object with exactly the keys "A" and "B" (class lists), got {got}')
    for half in ("A", "B"):
        members = split[half]
        if not isinstance(members, list) or not all(isinstance(c, str) for c in members):
            raise SplitError(f"{where}: half {half} must be a list of class names (strings), got {_short(members)}")
        if not members:
            raise SplitError(f"{where}: half {half} is empty; expected at least one class in each half")
        twice = sorted({c for c in members if members.count(c) > 1})
        if twice:
            raise SplitError(f"{where}: half {half} lists {_short(twice)} more than once")
    both = sorted(set(split["A"]) & set(split["B"]))
    if both:
        raise SplitError(f"{where}: halves A and B are not disjoint: {len(both)} class(es) in both, {_short(both)}")
    if classes is not None:
        known = set(classes)
        unknown = sorted((set(split["A"]) | set(split["B"])) - known)
        if unknown:
            raise SplitError(
                f"{where}: {len(unknown)} class(es) that are not among the dataset's {len(known)} "
                f"selected classes{selection}: {_short(unknown)}"
            )
        neither = sorted(known - set(split["A"]) - set(split["B"]))
        if neither:
            raise SplitError(
                f"{where}: not complete: {len(neither)} of the dataset's {len(known)} selected "
                f"classes{selection} are in neither half, {_short(neither)}; expected every class "
                "in exactly one half"
            )
    return {"A": sorted(split["A"]), "B": sorted(split["B"])}


def _short(values) -> str:
    values = list(values) if isinstance(values, (list, tuple, set)) else values
    if isinstance(values, list) and len(values) > 5:
        return json.dumps(values[:5])[:-1] + ", ...]"
    return json.dumps(values)


def write_custom_split(classes_file, name: str, user_file, out) -> dict:
    """The user's split ``name``, checked against the class list, written like the workflow's own splits."""
    wnids = json.load(open(classes_file))["wnids"]
    split = check_custom_split(name, user_file, wnids)
    split.update(kind="custom", name=name, source=str(user_file))
    atomic_write_json(out, split)
    return split
