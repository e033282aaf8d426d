"""False firm-verdict rates and power of the scorecard on simulated runs (the simulation of
tests/unit/test_claims_simulation.py, with more runs), as a markdown table for docs/.

    .venv/bin/python benchmarks/claims_simulation.py [--runs 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_claims_simulation import N_IMG, NET_SD, error_rates, simulate

from transferlab.analysis import correctness_map, scorecard


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    a = ap.parse_args(argv)
    rows = []
    for k in (2, 3, 4, 8):
        for sd in (0.0, 0.02, 0.04):
            r = error_rates(k, sd, a.runs, seed=50_000 + 100 * k + int(100 * sd))
            rows.append({"units": k, "unit SD (pt)": round(100 * sd), **{c: r[c] for c in r.index}})
    t = pd.DataFrame(rows)
    print(
        f"Simulated runs with known truth ({a.runs} per row; {N_IMG} validation images per target, network SD "
        f"{100 * NET_SD:.0f} pt; each claim at its null: one-sided claims at their threshold, the '≈' claims at "
        "the ±2-pt margin). Share of runs with a firm verdict, which is wrong under the null (nominal 5 %; "
        "for the '≈' claims a 'holds', nominal at most 2.5 %).\n"
    )
    cols = [c for c in t.columns if c not in ("units", "unit SD (pt)")]
    print("| units | unit SD (pt) | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for r in t.itertuples(index=False):
        print(f"| {r[0]} | {r[1]} | " + " | ".join(f"{100 * v:.1f} %" for v in r[2:]) + " |")
    rng = np.random.default_rng(99)
    for k in (4, 8):
        found = 0
        for _ in range(a.runs):
            ev, pred = simulate(k, 0.02, rng, effect5=0.03)
            t = scorecard(ev, correctness_map(pred), n_boot=0).set_index("claim")
            found += t.loc["transfer_ft_boost", "verdict"] == "holds"
        print(
            f"\nPower: a +3-point AnB+ − BnB+ effect (claim 5), unit SD 2 pt, {k} units: found in "
            f"{100 * found / a.runs:.1f} % of {a.runs} runs."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
