"""Table 1 of the paper: the boost of AnB+ over base and over BnB+."""
from __future__ import annotations

from importlib import resources

import pandas as pd

from .io import atomic_path, atomic_write_text
from .pairing import UNIT, paired, transfer_points


def ranges(points: int = 7) -> dict:
    """The paper's layer ranges 1-7, 3-7, 5-7, ending at the architecture's last transfer point."""
    return {f"{lo}-{points}": range(lo, points + 1) for lo in (1, 3, 5) if lo <= points}


RANGES = ranges(7)
# Yosinski et al. 2014, Table 1 (ImageNet): the authors' statistic, the mean of each network's 10
# best test scores against the mean of all 8 base networks, not paired by target.
PAPER_TABLE1 = {"1-7": (0.016, 0.014), "3-7": (0.018, 0.014), "5-7": (0.021, 0.017)}


def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Mean boost of AnB+ over its own base and over BnB+ of the same unit and n, per layer range.

    Paired through :func:`transferlab.pairing.paired`: each AnB+ network minus the base of its
    split, replicate and target half, and minus the BnB+ of that unit at the same n; the
    differences are averaged over the networks whose n lies in the range.
    """
    d = df[df.experiment == "random_split"]
    p = paired(d)
    ft = p[p.treatment == "transfer_ft"]
    if ft.empty:
        raise ValueError("Table 1 needs AnB+ networks (experiments.random_split.fine_tune: true)")
    self_ft = p[p.treatment == "selffer_ft"][UNIT + ["n", "top1"]].rename(columns={"top1": "selffer_ft"})
    ft = ft.merge(self_ft, on=UNIT + ["n"], how="left")
    ft["over_self"] = ft["top1"] - ft["selffer_ft"]
    rows = []
    nan = (float("nan"), float("nan"))
    for name, ns in ranges(transfer_points(df)).items():
        a = ft[ft.n.isin(list(ns))]
        rows.append({"layers": name, "boost_over_base": a.delta.mean() if len(a) else float("nan"),
                     "boost_over_selffer_ft": a.over_self.mean() if a.over_self.notna().any() else float("nan"),
                     "networks": len(a), "units": int(len(a[UNIT].drop_duplicates())),
                     "paper_over_base": PAPER_TABLE1.get(name, nan)[0],
                     "paper_over_selffer_ft": PAPER_TABLE1.get(name, nan)[1]})
    return pd.DataFrame(rows)


def _paper(x: float) -> str:
    return f"{100 * x:+.1f} pt" if x == x else "n/a (CaffeNet's layers only)"


def to_markdown(t: pd.DataFrame) -> str:
    lines = ["| layers aggregated | AnB+ − own base (paired) | AnB+ − BnB+ (paired) | networks | units "
             "| paper's statistic: over base | paper's statistic: over BnB+ |",
             "|---|---|---|---|---|---|---|"]
    for _, r in t.iterrows():
        lines.append(f"| {r.layers} | {100 * r.boost_over_base:+.2f} pt | {100 * r.boost_over_selffer_ft:+.2f} pt | "
                     f"{r.networks} | {r.units} | {_paper(r.paper_over_base)} | {_paper(r.paper_over_selffer_ft)} |")
    lines.append("")
    lines.append("Our columns: each AnB+ network minus the base of its own split, replicate and target half, and minus "
                 "the BnB+ of the same unit and n. Paper columns: Yosinski et al., NIPS 2014, Table 1 (ImageNet, "
                 "CaffeNet), the authors' statistic: mean of each network's 10 best test scores against the mean of "
                 "all 8 base networks, not paired, so the columns are not the same quantity.")
    return "\n".join(lines) + "\n"


def last_fifth_change(epochs, values) -> tuple[float, float]:
    """(value at 80 % of the epochs, final value minus it): how much a curve moved over its last fifth."""
    at = [v for e, v in zip(epochs, values) if e <= round(0.8 * max(epochs))]
    ref = at[-1] if at else values[0]
    return float(ref), float(values[-1] - ref)


def convergence(curves: pd.DataFrame, evaluation: pd.DataFrame) -> pd.DataFrame:
    """Per base network: dev-slice top-1 at the end and its change over the last fifth of training.

    The change is the final epoch's dev top-1 minus the dev top-1 at 80 % of the epochs; the
    validation top-1 (reported, never tuned on) is shown beside it.
    """
    if "dev_top1" not in curves:
        raise ValueError("curves.parquet has no dev_top1: the run had no dev slice (data.dev_per_class: 0)")
    bases = curves[curves.treatment == "base"]
    val = evaluation.set_index(["split", "replicate", "network"])["top1"]
    rows = []
    for (split, rep, net), g in bases.groupby(["split", "replicate", "network"], sort=True):
        g = g.dropna(subset=["dev_top1"]).sort_values("epoch")
        if g.empty:
            continue
        ref, change = last_fifth_change(g.epoch.to_numpy(), g.dev_top1.to_numpy())
        rows.append({"split": split, "replicate": int(rep), "network": net, "epochs": int(g.epoch.max()),
                     "dev_top1": float(g.dev_top1.iloc[-1]), "dev_top1_at_80pct": ref, "last_fifth_change": change,
                     "val_top1": float(val.get((split, rep, net), float("nan")))})
    return pd.DataFrame(rows)


def convergence_markdown(t: pd.DataFrame) -> str:
    lines = ["| base network | epochs | dev top-1 | change over the last fifth | validation top-1 |",
             "|---|---|---|---|---|"]
    for r in t.itertuples():
        lines.append(f"| {r.split}/r{r.replicate}/{r.network} | {r.epochs} | {100 * r.dev_top1:.1f} % | "
                     f"{100 * r.last_fifth_change:+.1f} pt | {100 * r.val_top1:.1f} % |")
    worst = t.last_fifth_change.abs().max() if len(t) else float("nan")
    lines += ["", f"Largest change over the last fifth: {100 * worst:.1f} pt (dev slice: training images held out "
              "per class; validation images are reported only)."]
    return "\n".join(lines) + "\n"


def write_convergence(curves: pd.DataFrame, evaluation: pd.DataFrame, csv, md) -> pd.DataFrame:
    t = convergence(curves, evaluation)
    with atomic_path(csv) as tmp:
        t.to_csv(tmp, index=False)
    atomic_write_text(md, convergence_markdown(t))
    return t


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
