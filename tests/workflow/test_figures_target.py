"""`snakemake figures` draws from the result tables alone: without them it stops with one sentence; with
them (copied back from a cluster, older than every script) it schedules no data, training or evaluation job."""

import os

import pytest
from workflow_helpers import job_counts, snakemake, workdir

RES = "results/tiny-imagenet"
TABLES = ["evaluation.parquet", "predictions.parquet", "curves.parquet", "conv1.parquet", "cka.parquet"]
# every figure, derived table and the scorecard of the default preset, and nothing else
FIGURES = {
    "plot_fig2": 1,
    "plot_fig3": 1,
    "make_table1": 1,
    "make_claims": 1,
    "make_convergence": 1,
    "plot_curves": 1,
    "plot_filters": 1,
    "plot_reference": 1,
    "plot_cka": 1,
    "figures": 1,
}


@pytest.fixture
def wd(tmp_path):
    return workdir(tmp_path)


def tables_only(wd, names=TABLES):
    """Stand-ins for the result tables (a dry-run never reads them), older than every script and rule file."""
    (wd / RES).mkdir(parents=True)
    for name in names:
        (wd / RES / name).write_bytes(b"stand-in")
        os.utime(wd / RES / name, (946684800, 946684800))  # 2000-01-01


def error_lines(r) -> list[str]:
    """What Snakemake printed to stderr, less the note on the workflow profile (its banner is on stdout)."""
    return [line for line in r.stderr.splitlines() if line.strip() and not line.startswith("Using workflow specific")]


def test_without_results_figures_stops_with_one_sentence(wd):
    r = snakemake(wd, "-n", "figures")
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert error_lines(r) == [
        "snakemake figures draws from the result tables of a finished run, and "
        + ", ".join(f"{RES}/{t}" for t in TABLES)
        + " are missing: run the workflow first (snakemake)."
    ], r.stderr
    assert "Job stats" not in r.stdout and r.stdout.rstrip().endswith("Building DAG of jobs...")
    assert not (wd / "results").exists()


def test_figures_names_the_missing_tables(wd):
    tables_only(wd, ["evaluation.parquet", "predictions.parquet"])  # what an older habit copied back
    r = snakemake(wd, "-n", "figures")
    assert r.returncode == 1
    [line] = error_lines(r)
    assert line.endswith(
        f"and {RES}/curves.parquet, {RES}/conv1.parquet, {RES}/cka.parquet are missing: run the "
        "workflow first "
        "(snakemake)."
    ), line


def test_figures_from_tables_alone_never_trains(wd):
    """Only the tables, older than every script (as after a `git pull`): figures and derived tables, no job
    upstream of the tables, although Snakemake would rerun their producers for the changed code."""
    tables_only(wd)
    r = snakemake(wd, "-n", "figures")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert job_counts(out) == FIGURES


def test_only_figures_reads_the_tables_as_they_are(wd):
    """The default target, on the same folder, rebuilds the tables older than their code (networks first)."""
    tables_only(wd)
    r = snakemake(wd, "-n")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    counts = job_counts(out)
    assert counts["train_base"] == 10 and counts["collect_conv1"] == 1 and counts["collect_metrics"] == 1
