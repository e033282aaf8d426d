"""transferlab.names: the builders, the parser and the workflow's wildcard patterns agree on every network name."""

import re

import pytest

from transferlab.errors import TransferError
from transferlab.names import (
    BASE_PATTERN,
    DERIVED_PATTERN,
    NET_PATTERN,
    TREATMENT_LABELS,
    base_name,
    net_name,
    parse_net,
)

HALVES, SOURCES, NS = "AB", "ABR", (1, 7, 9, 10, 99)
DERIVED = [(s, n, t, ft) for s in SOURCES for n in NS for t in HALVES for ft in (False, True)]
MALFORMED = [
    "", "base", "baseAB", "basea", "base A", "baseA-ft", "A0B-frozen", "A03B-ft", "A100B-ft", "A3B", "A3B-",
    "A3B-fine", "A3B-frozen-ft", "a3B-ft", "A3b-ft", "AB3-ft", "A-3B-ft", " A3B-ft", "A3B-ft ", "A3B-frozen\n",
]  # fmt: skip


def _only(name, pattern):
    """Which of the three patterns match ``name`` whole."""
    return [p for p in (BASE_PATTERN, DERIVED_PATTERN, NET_PATTERN) if re.fullmatch(p, name)] == pattern


@pytest.mark.parametrize("source, n, target, fine_tuned", DERIVED)
def test_derived_names_round_trip(source, n, target, fine_tuned):
    name = net_name(source, n, target, fine_tuned)
    spec = parse_net(name)
    assert (spec.name, spec.source, spec.n, spec.target, spec.fine_tuned) == (name, source, n, target, fine_tuned)
    assert not spec.is_base and spec.frozen_layers == (0 if fine_tuned else n)
    assert spec.base == (None if source == "R" else base_name(source))  # the base whose layers it copies
    assert _only(name, [DERIVED_PATTERN, NET_PATTERN])


@pytest.mark.parametrize("half", HALVES)
def test_base_names_round_trip(half):
    spec = parse_net(base_name(half))
    assert (spec.name, spec.target, spec.source, spec.n, spec.frozen_layers) == (f"base{half}", half, None, 0, 0)
    assert spec.is_base and spec.base is None and spec.treatment == "base"
    assert _only(spec.name, [BASE_PATTERN, NET_PATTERN])


def test_every_treatment_but_random_has_its_paper_label():
    treatments = {parse_net(net_name(*d)).treatment for d in DERIVED} | {parse_net(base_name("A")).treatment}
    assert treatments - set(TREATMENT_LABELS) == {"random", "random_ft"}
    assert set(TREATMENT_LABELS) <= treatments  # no label for a treatment no name has


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_names_are_refused_everywhere(name):
    with pytest.raises(
        TransferError, match=re.escape(f"{name!r} is not of the form 'base<H>' or '<S><n><T>-frozen|ft'")
    ):
        parse_net(name)
    assert not re.fullmatch(NET_PATTERN, name)  # a wildcard never takes what the parser refuses


@pytest.mark.parametrize(
    "args", [("A", 0, "B", False), ("A", 100, "B", True), ("a", 3, "B", True), ("AB", 1, "B", False)]
)
def test_builders_refuse_what_they_cannot_name(args):
    with pytest.raises(ValueError, match="not of the form"):  # a TransferError is a ValueError too
        net_name(*args)


@pytest.mark.parametrize("half", ["", "AB", "a", "1"])
def test_base_name_refuses_what_is_not_a_half(half):
    with pytest.raises(TransferError, match=f"'base{half}' is not of the form"):
        base_name(half)


def test_patterns_stay_whole_inside_a_path_pattern():
    """The workflow embeds them in longer patterns: an alternative must not leak out of its group."""
    for pattern, name in [(NET_PATTERN, "baseA"), (NET_PATTERN, "B2A-ft"), (DERIVED_PATTERN, "A3B-ft")]:
        assert re.fullmatch(rf"nets/{pattern}/weights\.pt", f"nets/{name}/weights.pt")
    for pattern in (NET_PATTERN, DERIVED_PATTERN, BASE_PATTERN):
        for path in ("nets/baseA", "nets/A3B-frozen", "ft/weights.pt"):
            assert not re.fullmatch(rf"nets/{pattern}/weights\.pt", path)


def test_parse_names():
    assert parse_net("baseA").treatment == "base"
    s = parse_net("A3B-frozen")
    assert (s.source, s.n, s.target, s.fine_tuned, s.treatment, s.frozen_layers) == ("A", 3, "B", False, "transfer", 3)
    assert parse_net("B5B-ft").treatment == "selffer_ft" and parse_net("B5B-ft").frozen_layers == 0
    assert parse_net("R2A-frozen").treatment == "random"
    assert parse_net("A9B-ft").n == 9 and parse_net("B12A-frozen").n == 12  # ResNet-18 has 9 transfer points
    for bad in ("A0B-frozen", "A100B-ft", "A3B", "a3B-ft"):
        with pytest.raises(TransferError, match="not of the form"):
            parse_net(bad)
