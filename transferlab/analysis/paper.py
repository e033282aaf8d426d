"""The authors' own released results through this project's scorecard.

The detail: docs/library.md, `transferlab/analysis/paper.py`."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

import pandas as pd

from transferlab.analysis import claims
from transferlab.report import write_table

NATMAN = {"A": "natural", "B": "man-made"}  # the repository's letters (the paper's text swaps them)
CITATION = (
    "Yosinski, Clune, Bengio & Lipson, NIPS 2014: final validation top-1 of each released network "
    "(github.com/yosinski/convnet_transfer, commit 9838c27, results/)"
)


def networks() -> pd.DataFrame:
    with resources.files("transferlab.reference").joinpath("yosinski2014_networks.csv").open() as f:
        return pd.read_csv(f, dtype={"split": str})


def as_results(nets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The released networks as a results table (``evaluation.parquet``'s columns the analysis reads)."""
    d = (networks() if nets is None else nets).copy()
    d = d[d.experiment.isin(["random_split", "natman", "random_weights"])]
    target = d.target.astype(str)
    d["target_task"] = target.where(d.experiment != "natman", target.map(NATMAN))
    d["split"] = d.split.where(d.experiment != "random_split", "paper-" + d.split.astype(str))
    return pd.DataFrame(
        {
            "experiment": d.experiment,
            "split": d.split,
            "replicate": 0,
            "network": d.network,
            "treatment": d.treatment,
            "n": d.n.astype(int),
            "target_task": d.target_task,
            "top1": d.top1.astype(float),
            "transfer_points": 7,
            "iteration": d.iteration,
        }
    ).reset_index(drop=True)


def scorecard() -> pd.DataFrame:
    return claims.scorecard(as_results(), None, n_boot=0)


def base_sd() -> float:
    """SD of the random-split bases' final top-1 (the paper's training noise between bases)."""
    r = as_results()
    return float(r[(r.experiment == "random_split") & (r.treatment == "base")].top1.std(ddof=1))


def write(out: Path) -> pd.DataFrame:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = scorecard()
    return write_table(
        t,
        out / "claims.csv",
        out / "claims.md",
        claims.to_markdown(t) + "\n" + claims.legend() + f"Data: {CITATION}.\n",
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m transferlab.analysis.paper", description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="docs/paper-data")
    write(Path(ap.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
