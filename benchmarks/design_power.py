"""Power per CPU-hour of candidate designs, priced and sized from a committed run.

For each candidate random-split design (splits S, directions, the n trained) this prices the networks
with the run's own measured training seconds per (treatment, n) and predicts each claim's minimum
detectable effect from the run's own spread between splits: MDE = (t(.975, S−1) + t(.80, S−1)) ·
SD / √S, the splits being the independent units of the scorecard's t interval.  A second direction is
counted as halving a split's variance (independent directions: an optimistic bound, since both share
the split's halves).  The fixed experiments (natural/man-made, random weights, dataset size) are
priced from the run as they are.  Writes a markdown table to stdout.

    .venv/bin/python benchmarks/design_power.py docs/default-run [--budget-hours 2 --cores 2]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transferlab.analysis import (
    CLAIMS,
    RANDOM_SPLIT,
    RESTART,
    Scores,
    clustered,
    mde_for,
)

FROZEN_SHARE = {1: 0.81, 2: 0.73, 3: 0.65, 4: 0.58, 5: 0.52, 6: 0.48, 7: 0.44}  # BENCHMARKS.md, epoch time vs base
DESIGNS = [  # (label, splits, directions, layers)
    ("1 split, both directions, n = 1..7 (every transfer point of one split)", 1, 2, list(range(1, 8))),
    ("2 splits, both directions, n = 1..7", 2, 2, list(range(1, 8))),
    ("2 splits, one direction, n = 1..7", 2, 1, list(range(1, 8))),
    ("3 splits, one direction, n = 1, 4, 7 (the default)", 3, 1, [1, 4, 7]),
    ("4 splits, one direction, n = 1, 4, 7", 4, 1, [1, 4, 7]),
    ("2 splits, both directions, n = 1, 4, 7", 2, 2, [1, 4, 7]),
    ("5 splits, one direction, n = 1, 4, 7", 5, 1, [1, 4, 7]),
    ("6 splits, one direction, n = 1, 4, 7", 6, 1, [1, 4, 7]),
]


def seconds(ev: pd.DataFrame) -> tuple[float, dict, float]:
    """(base seconds, derived seconds by (treatment, n), fixed seconds of the other experiments)."""
    rs = ev[ev.experiment == RANDOM_SPLIT]
    base = float(rs[rs.treatment == "base"].train_seconds.mean())
    by = rs[rs.treatment != "base"].groupby(["treatment", "n"]).train_seconds.mean().to_dict()
    for t in ("selffer", "transfer", "selffer_ft", "transfer_ft"):  # n the run did not train: from the epoch ratios
        for n in range(1, 8):
            if (t, n) not in by:
                by[(t, n)] = base * (FROZEN_SHARE[n] if not t.endswith("_ft") else 1.05)
    fixed = float(ev[ev.experiment != RANDOM_SPLIT].train_seconds.sum())
    return base, by, fixed


def split_cost(base: float, by: dict, directions: int, layers: list) -> float:
    per_direction = sum(by[(t, n)] for n in layers for t in ("selffer", "transfer", "selffer_ft", "transfer_ft"))
    return 2 * base + directions * per_direction


def split_sd(ev: pd.DataFrame) -> dict:
    """Each claim's SD between splits (or between the run's units when it has one split)."""
    r = Scores(ev, None, 0)
    out = {}
    for c in [RESTART] + CLAIMS:
        groups = c.fn(r)
        if len(groups) != 1:
            continue  # two-group claims compare experiments the design does not change
        vals, _ = clustered(r, groups[0])
        v = vals[0][np.isfinite(vals[0])]
        out[c.key] = float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("snapshot")
    ap.add_argument("--budget-hours", type=float, default=2.0)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument(
        "--efficiency",
        type=float,
        default=0.8,
        help="share of core time that goes into training (measured: 0.80 on the design before)",
    )
    a = ap.parse_args(argv)
    ev = pd.read_parquet(Path(a.snapshot) / "evaluation.parquet")
    base, by, fixed = seconds(ev)
    sd = split_sd(ev)
    rs = ev[ev.experiment == RANDOM_SPLIT]
    run_dirs = rs[rs.treatment != "base"].target_task.nunique()
    keys = [
        k
        for k in (
            "general_layers_1_2",
            "fragile_coadaptation",
            "finetuning_removes_dip",
            "transfer_falls_with_depth",
            "transfer_ft_boost",
        )
        if k in sd
    ]
    print(
        f"Priced from {a.snapshot}: a random-split base {base:.0f} s, fixed experiments {fixed / 3600:.2f} CPU-h; "
        f"budget {a.budget_hours:g} h x {a.cores} cores x {a.efficiency:.0%} = "
        f"{a.budget_hours * a.cores * a.efficiency:.2f} CPU-h of training. SD between splits (points): "
        + ", ".join(f"{k} {100 * sd[k]:.2f}" for k in keys)
        + ".\n"
    )
    print("| design | CPU-h (training) | fits | " + " | ".join(f"MDE {k}" for k in keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for label, s, d, layers in DESIGNS:
        cost = (s * split_cost(base, by, d, layers) + fixed) / 3600
        fits = cost <= a.budget_hours * a.cores * a.efficiency
        scale = math.sqrt(run_dirs / d)  # a split's SD with d directions averaged, from the run's
        cells = []
        for k in keys:
            m = mde_for(sd[k] * scale, s) if s >= 2 else float("nan")
            cells.append("n/a (1 split: df 0)" if not np.isfinite(m) else f"{100 * m:.1f} pt")
        print(f"| {label} | {cost:.2f} | {'yes' if fits else 'no'} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
