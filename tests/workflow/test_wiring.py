"""Wiring read off the DAG itself: which base each network copies from, which half it trains and is
scored on.  A swapped base or half in an input function fails here."""

import re

import pytest
from conftest import make_fake_tiny
from workflow_helpers import snakemake, workdir

RES = "results/tiny-imagenet"


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wiring")
    wd = workdir(tmp)
    z = make_fake_tiny(tmp / "tiny.zip")
    # every network kind of the design: both directions and all seven n (the default trains a subset)
    (wd / "full_design.yaml").write_text(
        "experiments:\n  random_split:\n    both_directions: true\n    layers: [1, 2, 3, 4, 5, 6, 7]\n"
        "  natman:\n    layers: [1, 2, 3, 4, 5, 6, 7]\n  random_weights:\n    layers: [1, 2, 3, 4, 5, 6, 7]\n"
        "  dataset_size:\n    enabled: true\n"
    )
    r = snakemake(wd, "-n", "--configfile", "full_design.yaml", "--config", f"tiny_imagenet_path={z}")
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", r.stdout + r.stderr):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        fields = dict(re.findall(r"^    (input|output): (.*)$", block, re.M))
        for out in fields.get("output", "").split(", "):
            jobs[out] = {"rule": m.group(1), "input": set(fields.get("input", "").split(", "))}
    return jobs


def _train(dag, split, net):
    return dag[f"{RES}/nets/{split}/r0/{net}/weights.pt"]


def _eval(dag, split, net):
    return dag[f"{RES}/eval/{split}/r0/{net}.json"]


def _weights(inputs):
    return {i for i in inputs if i.endswith("weights.pt")}


def _halves(inputs):
    return {i for i in inputs if "/halves/" in i}


@pytest.mark.parametrize("src,tgt", [("A", "B"), ("B", "A"), ("B", "B"), ("A", "A")])
@pytest.mark.parametrize("mode", ["frozen", "ft"])
def test_random_split_nets_copy_their_source_and_train_and_score_on_their_target(dag, src, tgt, mode):
    for n in range(1, 8):
        net = f"{src}{n}{tgt}-{mode}"
        job = _train(dag, "random-0", net)
        assert _weights(job["input"]) == {f"{RES}/nets/random-0/r0/base{src}/weights.pt"}, net
        assert _halves(job["input"]) == {f"{RES}/halves/random-0/{tgt}.npz"}, net
        ev = _eval(dag, "random-0", net)
        assert _halves(ev["input"]) == {f"{RES}/halves/random-0/{tgt}.npz"}, net
        assert f"{RES}/nets/random-0/r0/{net}/weights.pt" in ev["input"]


def test_bases_train_and_score_on_their_own_half(dag):
    for split, half in (("random-0", "A"), ("random-0", "B"), ("natman", "A"), ("natman", "B"), ("all", "A")):
        job = _train(dag, split, f"base{half}")
        assert not _weights(job["input"])
        assert _halves(job["input"]) == {f"{RES}/halves/{split}/{half}.npz"}
        assert _halves(_eval(dag, split, f"base{half}")["input"]) == {f"{RES}/halves/{split}/{half}.npz"}


def test_halves_are_cut_from_their_own_split(dag):
    for split in ("random-0", "natman", "all"):
        for half in ("A", "B") if split != "all" else ("A",):
            job = dag[f"{RES}/halves/{split}/{half}.npz"]
            assert f"{RES}/splits/{split}.json" in job["input"], (split, half, job)


def test_natman_transfers_cross_the_natural_man_made_split(dag):
    for n in range(1, 8):
        for src, tgt in (("A", "B"), ("B", "A")):
            job = _train(dag, "natman", f"{src}{n}{tgt}-frozen")
            assert _weights(job["input"]) == {f"{RES}/nets/natman/r0/base{src}/weights.pt"}
            assert _halves(job["input"]) == {f"{RES}/halves/natman/{tgt}.npz"}
            assert _halves(_eval(dag, "natman", f"{src}{n}{tgt}-frozen")["input"]) == {f"{RES}/halves/natman/{tgt}.npz"}


def test_random_weight_nets_copy_nothing_and_use_the_whole_class_set(dag):
    for rep in (0, 1):
        for n in range(1, 8):
            job = dag[f"{RES}/nets/all/r{rep}/R{n}A-frozen/weights.pt"]
            assert not _weights(job["input"]), job
            assert _halves(job["input"]) == {f"{RES}/halves/all/A.npz"}


def test_dataset_size_nets_train_on_their_capped_half(dag):
    for k in (50, 100):
        job = _train(dag, f"all-k{k}", "baseA")
        assert _halves(job["input"]) == {f"{RES}/halves/all-k{k}/A.npz"}
        assert f"{RES}/splits/all.json" in dag[f"{RES}/halves/all-k{k}/A.npz"]["input"]
