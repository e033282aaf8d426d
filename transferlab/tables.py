"""Table 1 of the paper: the boost of AnB+ over base and over BnB+."""
from __future__ import annotations

from importlib import resources

import pandas as pd

from .io import atomic_path, atomic_write_text

RANGES = {"1-7": range(1, 8), "3-7": range(3, 8), "5-7": range(5, 8)}
# Yosinski et al. 2014, Table 1 (ImageNet, mean boost in top-1 accuracy)
PAPER_TABLE1 = {"1-7": (0.016, 0.014), "3-7": (0.018, 0.014), "5-7": (0.021, 0.017)}


def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Mean boost of AnB+ over base and over BnB+, per layer range.

    For each (split, replicate, target) the AnB+ accuracy at n is compared with the
    mean base accuracy on that target and with BnB+ at the same n; the boosts are
    averaged over the networks whose n lies in the range.
    """
    d = df[df.experiment == "random_split"]
    rows = []
    over_base, over_self = [], []
    for (split, rep, tgt), g in d.groupby(["split", "replicate", "target_task"]):
        base = g[g.treatment == "base"].top1.mean()
        self_ft = g[g.treatment == "selffer_ft"].groupby("n").top1.mean()
        for _, r in g[g.treatment == "transfer_ft"].iterrows():
            over_base.append((r.n, r.top1 - base))
            if r.n in self_ft.index:
                over_self.append((r.n, r.top1 - self_ft[r.n]))
    if not over_base:
        raise ValueError("Table 1 needs AnB+ networks (experiments.random_split.fine_tune: true)")
    ob = pd.DataFrame(over_base, columns=["n", "boost"])
    os_ = pd.DataFrame(over_self, columns=["n", "boost"])
    for name, ns in RANGES.items():
        a = ob[ob.n.isin(list(ns))]
        b = os_[os_.n.isin(list(ns))]
        rows.append({"layers": name, "boost_over_base": a.boost.mean() if len(a) else float("nan"),
                     "boost_over_selffer_ft": b.boost.mean() if len(b) else float("nan"),
                     "networks": len(a), "paper_over_base": PAPER_TABLE1[name][0],
                     "paper_over_selffer_ft": PAPER_TABLE1[name][1]})
    return pd.DataFrame(rows)


def to_markdown(t: pd.DataFrame) -> str:
    lines = ["| layers aggregated | AnB+ − base | AnB+ − BnB+ | networks | paper: over base | paper: over BnB+ |",
             "|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        lines.append(f"| {r.layers} | {100 * r.boost_over_base:+.2f} pt | {100 * r.boost_over_selffer_ft:+.2f} pt | "
                     f"{r.networks} | {100 * r.paper_over_base:+.1f} pt | {100 * r.paper_over_selffer_ft:+.1f} pt |")
    lines.append("")
    lines.append("Paper columns: Yosinski et al., NIPS 2014, Table 1 (ImageNet, CaffeNet).")
    return "\n".join(lines) + "\n"


def write_table1(df: pd.DataFrame, csv, md) -> pd.DataFrame:
    t = table1(df)
    with atomic_path(csv) as tmp:
        t.to_csv(tmp, index=False)
    atomic_write_text(md, to_markdown(t))
    return t


def published_means() -> pd.DataFrame:
    with resources.files("transferlab.reference").joinpath("published_means.csv").open() as f:
        return pd.read_csv(f)


def published_bases() -> pd.DataFrame:
    with resources.files("transferlab.reference").joinpath("published_bases.csv").open() as f:
        return pd.read_csv(f)
