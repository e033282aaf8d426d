"""The benchmark suite's dry-run measurements (speed targets live in BENCHMARKS.md, not here): the job counts it
reports are the design's, rule by rule, and its timings are wall seconds of a plausible size."""

from conftest import REPO
from workflow_helpers import benchmarks_module, design_of, training_jobs


def _check(counts, design):
    assert training_jobs(design) == {"train_base": counts["train_base"], "train_derived": counts["train_derived"]}
    assert counts["evaluate_net"] == len(design.networks())  # each network scored once
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_benchmark_dry_run_measurements_count_the_designs_jobs(tmp_path):
    """The dry-run timings of BENCHMARKS.md, through the suite's own function (paper preset on a fake ILSVRC layout)."""
    root = {"imagenet_root": str(tmp_path)}  # the design reads no image; the config check wants a folder
    bench = benchmarks_module()
    seconds, paper = bench.dryrun_seconds(["--configfile", "config/paper.yaml"])
    assert 0.5 < seconds < 300  # a Snakemake start and a DAG of hundreds of jobs: never instant, never minutes
    _check(paper, design_of("config/paper.yaml", **root))
    seconds, big = bench.dryrun_seconds(["--configfile", "config/paper.yaml", str(REPO / "benchmarks/seeds10x3.yaml")])
    assert 0.5 < seconds < 300
    design = design_of("config/paper.yaml", "benchmarks/seeds10x3.yaml", **root)
    _check(big, design)
    assert design.replicates_of("random_split") == [0, 1, 2] and len(design.experiments["random_split"]["seeds"]) == 10
