"""The benchmark suite's dry-run measurements run (speed targets live in BENCHMARKS.md, not here)."""

from conftest import REPO
from workflow_helpers import benchmarks_module

PAPER_PRESET_JOBS = 571  # tests/workflow/test_dag.py pins it rule by rule


def test_benchmark_dry_run_measurements_run():
    """The dry-run timings of BENCHMARKS.md, through the suite's own function (paper preset on a fake ILSVRC layout)."""
    bench = benchmarks_module()
    seconds, jobs = bench.dryrun_seconds(["--configfile", "config/paper.yaml"])
    assert seconds > 0 and jobs == PAPER_PRESET_JOBS
    seconds, jobs = bench.dryrun_seconds(["--configfile", "config/paper.yaml", str(REPO / "benchmarks/seeds10x3.yaml")])
    assert seconds > 0 and jobs > 6 * PAPER_PRESET_JOBS  # 10 seeds x 3 replicates of the random split
