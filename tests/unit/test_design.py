"""The study's design as a library (transferlab.run.design), without Snakemake: which networks a config has, what
each one is, its seed, its evaluation record, the CKA pairs and the outputs; the cross-field config checks."""

import copy
import zlib

import pytest
import yaml
from workflow_helpers import REPO

from transferlab.errors import InvalidConfig
from transferlab.names import NET_PATTERN
from transferlab.run.configcheck import validate_config
from transferlab.run.design import Design

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def _config(path="config/config.yaml", **edits) -> dict:
    config = yaml.safe_load((REPO / path).read_text())
    for dotted, value in edits.items():
        node = config
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    validate_config(config, SCHEMA)
    return config


def test_the_default_design_network_by_network():
    d = Design(_config())
    nets = d.networks()
    assert len(nets) == len(set(nets))
    assert {s for s, _, _ in nets} == {"random-0", "random-1", "random-2", "natman", "all"}  # each one checked below
    # three random splits, one direction, layers 1, 4, 7: both bases, BnB and AnB frozen and fine-tuned
    for seed in (0, 1, 2):
        random = [n for s, n, r in nets if s == f"random-{seed}"]
        assert random == d.random_split_nets() and len(random) == 2 + 3 * 2 * 2
    assert {"baseA", "baseB", "A4B-frozen", "B4B-ft", "A1B-ft", "B7B-frozen"} <= set(random)
    assert not any(n.endswith("A-frozen") or n.endswith("A-ft") for n in random)  # target B only
    assert [n for s, n, r in nets if s == "natman"] == [
        "baseA",
        "baseB",
        "A1B-frozen",
        "B1A-frozen",
        "A7B-frozen",
        "B7A-frozen",
    ]
    assert [(n, r) for s, n, r in nets if s == "all"] == [
        (n, r) for n in ("baseA", "R1A-frozen", "R2A-frozen") for r in (0, 1)
    ]
    assert d.replicates_of("random_weights") == [0, 1] and d.replicates_of("random_split") == [0]
    assert d.results == "results/tiny-imagenet" and d.title == "tiny-imagenet · CaffeNet"


def test_what_each_network_is():
    d = Design(_config())
    assert (d.target_of("A3B-frozen"), d.base_of("A3B-frozen")) == ("B", "baseA")
    assert (d.target_of("B3B-ft"), d.base_of("B3B-ft")) == ("B", "baseB")
    assert (d.target_of("B2A-frozen"), d.base_of("B2A-frozen")) == ("A", "baseB")
    assert (d.target_of("baseA"), d.base_of("baseA")) == ("A", None)
    assert d.base_of("R4A-frozen") is None  # the random-weights control copies nothing
    assert d.seed_of("random-0", "A3B-frozen", "0") == zlib.crc32(
        b"random-0/A3B-frozen/r0"
    )  # a change retrains every network
    assert d.seed_of("random-0", "A3B-frozen", 1) != d.seed_of("random-0", "A3B-frozen", 0)
    rec = d.eval_record("natman", "A2B-frozen", "1")
    assert rec == {
        "dataset": "tiny-imagenet",
        "experiment": "natman",
        "split": "natman",
        "replicate": 1,
        "base_task": "natural",
        "target_task": "man-made",
        "train_per_class": 300,
        "architecture": "caffenet",
        "transfer_points": 7,
    }
    assert d.eval_record("all", "R3A-frozen", 0)["base_task"] == "random"
    assert d.eval_record("all-k10", "baseA", 0)["train_per_class"] == 10
    assert d.experiment_of("all-k10") == "dataset_size" and d.split_file_of("all-k10") == "all"


def test_ten_or_more_transfer_points():
    """A ResNet with 10 transfer points names a net A10B-frozen: it trains and is scored on B, copies baseA
    (the workflow's hand parsing read the target as net[2], "0")."""
    config = _config(
        model__architecture="resnet",
        model__resnet={"widths": [8, 16, 32], "blocks": [3, 3, 3]},
        experiments__random_split__layers=[1, 10],
        experiments__natman__layers=[10],
        experiments__random_weights__layers=[10],
    )
    d = Design(config)
    assert d.transfer_points == list(range(1, 11)) and d.units[-1] == "head"
    assert "A10B-frozen" in d.random_split_nets()
    assert (d.target_of("A10B-frozen"), d.base_of("A10B-frozen")) == ("B", "baseA")
    rec = d.eval_record("natman", "B10A-frozen", 0)
    assert (rec["base_task"], rec["target_task"], rec["transfer_points"]) == ("man-made", "natural", 10)
    pairs = {p["b"]: p for p in d.cka_pairs()}
    assert pairs["A10B-ft"]["a"] == "baseA" and pairs["A10B-ft"]["units"] == list(range(1, 11))
    import re

    assert re.fullmatch(NET_PATTERN, "A10B-frozen") and not re.fullmatch(NET_PATTERN, "A0B-frozen")


def test_cka_pairs_compare_each_fine_tuned_net_with_the_base_it_copied():
    d = Design(_config())
    pairs = d.cka_pairs()
    assert pairs[0] == {
        "kind": "bases",
        "a": "baseA",
        "b": "baseB",
        "net": "baseA~baseB",
        "treatment": "bases",
        "n": 0,
        "units": [1, 2, 3, 4, 5, 6, 7],
    }
    rest = {p["b"]: (p["a"], p["treatment"], p["n"], p["units"]) for p in pairs[1:]}
    assert rest["A4B-ft"] == ("baseA", "transfer_ft", 4, [1, 2, 3, 4])
    assert rest["B7B-ft"] == ("baseB", "selffer_ft", 7, [1, 2, 3, 4, 5, 6, 7])
    assert sorted(rest) == ["A1B-ft", "A4B-ft", "A7B-ft", "B1B-ft", "B4B-ft", "B7B-ft"]
    assert d.cka_runs() == [("random-0", 0), ("random-1", 0), ("random-2", 0)]


def test_outputs_follow_the_experiments():
    d = Design(_config())
    assert "results/tiny-imagenet/figures/fig3.png" in d.figure_outputs()
    assert "results/tiny-imagenet/tables/weight_change.csv" in d.all_outputs()
    off = Design(
        _config(experiments__natman__enabled=False, experiments__random_weights__enabled=False, cka__enabled=False)
    )
    assert not any("fig3" in p or "cka" in p for p in off.all_outputs())
    assert off.result_tables() == [
        f"results/tiny-imagenet/{t}.parquet" for t in ("evaluation", "predictions", "curves", "conv1")
    ]


@pytest.mark.parametrize(
    "edits, message",
    [
        ({"experiments__natman__layers": [9]}, "config experiments.natman.layers: [9] outside 1..7"),
        ({"inspect_n": 9}, "config inspect_n=9 is outside 1..7"),
        ({"train__crop_size": 500}, "config train.crop_size=500 is larger than data.image_size=36"),
        ({"dataset": "imagefolder"}, "config imagefolder_root is empty"),
    ],
)
def test_cross_field_checks_join_the_schema_check(edits, message):
    with pytest.raises(InvalidConfig, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        _config(**edits)


def test_the_design_does_not_change_the_config():
    config = _config()
    before = copy.deepcopy(config)
    d = Design(config)
    d.networks(), d.train_settings("all-k10"), d.cka_pairs(), d.all_outputs()
    assert config == before and d.train_settings("random-0")["train"]["iterations_of_full_set"] is False
    assert d.train_settings("all-k10")["train"]["iterations_of_full_set"] is True
