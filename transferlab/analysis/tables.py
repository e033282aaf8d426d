"""Table 1 of the paper: the boost of AnB+ over base and over BnB+."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from transferlab.analysis.pairing import UNIT, paired, transfer_points
from transferlab.report import markdown_table, pt, write_table

MARGIN = 0.02  # as transferlab.analysis.claims.MARGIN (a restart gain beyond it marks 'over base' confounded)


def ranges(points: int = 7) -> dict:
    """The paper's layer ranges 1-7, 3-7, 5-7, ending at the architecture's last transfer point."""
    return {f"{lo}-{points}": range(lo, points + 1) for lo in (1, 3, 5) if lo <= points}


def table1(df: pd.DataFrame, with_paper: bool = True) -> pd.DataFrame:
    """Mean boost of AnB+ over its own base and over BnB+ of the same unit and n, per layer range.

    Paired through :func:`transferlab.analysis.pairing.paired`: each AnB+ network minus the base of its
    split, replicate and target half, and minus the BnB+ of that unit at the same n; the
    differences are averaged over the networks whose n lies in the range.  Where no unit has both
    AnB+ and BnB+ (the paper's released design: they target different halves), the boost over BnB+
    is the difference of the two treatments' boosts over their own bases.  ``restart_gain`` is
    BnB+(T) − own base, the check that the bases had converged (a positive gain inflates "over base").
    The paper's columns are the same statistic on the authors' released networks
    (:func:`transferlab.analysis.paper.as_results`).
    """
    d = df[df.experiment == "random_split"]
    p = paired(d)
    ft = p[p.treatment == "transfer_ft"]
    if ft.empty:
        raise ValueError("Table 1 needs AnB+ networks (experiments.random_split.fine_tune: true)")
    sf = p[p.treatment == "selffer_ft"]
    self_ft = sf[UNIT + ["n", "top1"]].rename(columns={"top1": "selffer_ft"})
    ft = ft.merge(self_ft, on=UNIT + ["n"], how="left")
    ft["over_self"] = ft["top1"] - ft["selffer_ft"]
    points = transfer_points(df)
    top = sf[sf.n == points]
    restart = top.groupby(UNIT).delta.mean().mean() if len(top) else float("nan")
    paper = None
    if with_paper and points == 7:
        from transferlab.analysis.paper import as_results

        paper = table1(as_results(), with_paper=False).set_index("layers")
    rows = []
    for name, ns in ranges(points).items():
        a = ft[ft.n.isin(list(ns))]
        s = sf[sf.n.isin(list(ns))]
        if a.over_self.notna().any():
            over_self = a.over_self.mean()
        else:
            over_self = a.delta.mean() - s.delta.mean() if len(a) and len(s) else float("nan")
        row = {
            "layers": name,
            "boost_over_base": a.delta.mean() if len(a) else float("nan"),
            "boost_over_selffer_ft": over_self,
            "networks": len(a),
            "units": int(len(a[UNIT].drop_duplicates())),
            "restart_gain": restart,
        }
        if with_paper:
            row["paper_over_base"] = paper.loc[name, "boost_over_base"] if paper is not None else float("nan")
            row["paper_over_selffer_ft"] = (
                paper.loc[name, "boost_over_selffer_ft"] if paper is not None else float("nan")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(t: pd.DataFrame) -> str:
    paper = {"missing": "n/a (CaffeNet's layers only)", "digits": 2, "unit": " pt"}
    rows = [
        {
            "layers aggregated": r.layers,
            "AnB+ − own base (paired)": pt(r.boost_over_base, digits=2, unit=" pt"),
            "AnB+ − BnB+ (paired)": pt(r.boost_over_selffer_ft, digits=2, unit=" pt"),
            "networks": r.networks,
            "units": r.units,
            "paper's networks, same statistic: over base": pt(r.paper_over_base, **paper),
            "paper's networks: over BnB+": pt(r.paper_over_selffer_ft, **paper),
        }
        for r in t.itertuples()
    ]
    lines = [markdown_table(rows)]
    gain = t.restart_gain.iloc[0] if "restart_gain" in t and len(t) else float("nan")
    if gain == gain and gain > MARGIN:
        lines.append(
            f"**Over base is confounded here:** a second training run of the base itself (BnB+ at the deepest "
            f"n) gains {100 * gain:+.1f} pt over that base, more than the ±{100 * MARGIN:.0f}-pt margin, so "
            "the bases had not converged and 'over base' measures the extra training as much as the "
            "transfer; 'over BnB+' compares equal training."
        )
        lines.append("")
    lines.append(
        "Our columns: each AnB+ network minus the base of its own split, replicate and target half, and minus "
        "the BnB+ of the same unit and n. Paper columns: the same statistic on the authors' released "
        "networks (final validation top-1, github.com/yosinski/convnet_transfer); their AnB+ and BnB+ nets "
        "target different halves, so over BnB+ is AnB+ − own base minus BnB+ − own base. (The paper's "
        "printed Table 1, +1.6/+1.8/+2.1 pt over base, averages each net's 10 best test scores against the "
        "mean of all 8 bases, unpaired.)"
    )
    return "\n".join(lines) + "\n"


def last_fifth_change(epochs, values) -> tuple[float, float]:
    """(value at 80 % of the epochs, final value minus it): how much a curve moved over its last fifth."""
    at = [v for e, v in zip(epochs, values, strict=True) if e <= round(0.8 * max(epochs))]
    ref = at[-1] if at else values[0]
    return float(ref), float(values[-1] - ref)


def slope_before_drops(epochs, values, lrs, window: int = 5) -> list[float]:
    """Least-squares slope (per epoch) of a curve over the ``window`` epochs before each learning-rate drop.

    A drop is an epoch whose rate is below the previous epoch's; the window stops at the last epoch
    before it.  A base still climbing when its rate is cut has a clearly positive slope there, whatever
    happens after the drop (the check the last fifth of training cannot give)."""
    import numpy as np

    e, v, lr = (np.asarray(x, float) for x in (epochs, values, lrs))
    order = np.argsort(e)
    e, v, lr = e[order], v[order], lr[order]
    out = []
    for i in np.flatnonzero(lr[1:] < lr[:-1] * (1 - 1e-9)) + 1:
        lo = max(0, i - window)
        if i - lo >= 2:
            out.append(float(np.polyfit(e[lo:i], v[lo:i], 1)[0]))
    return out


def convergence(curves: pd.DataFrame, evaluation: pd.DataFrame) -> pd.DataFrame:
    """Per base network: dev-slice top-1 at the end, and the dev curve's slope over the 5 epochs before each
    learning-rate drop (points per epoch, as a fraction).

    A base still climbing when its rate is cut stops short of its plateau; the change over the last
    epochs, after the rate is already small, cannot show that.  The scorecard's restart gain (BnB+ at
    the deepest n minus its base) is the decisive check; this table says where the climb was cut.
    The validation top-1 (reported, never tuned on) is shown beside it.
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
        lr = g["lr"].to_numpy() if "lr" in g else [1.0] * len(g)
        slopes = slope_before_drops(g.epoch.to_numpy(), g.dev_top1.to_numpy(), lr)
        rows.append(
            {
                "split": split,
                "replicate": int(rep),
                "network": net,
                "epochs": int(g.epoch.max()),
                "dev_top1": float(g.dev_top1.iloc[-1]),
                "slopes_before_drops": " ".join(f"{x:+.5f}" for x in slopes),
                "steepest_before_drop": max(slopes) if slopes else float("nan"),
                "val_top1": float(val.get((split, rep, net), float("nan"))),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "split",
            "replicate",
            "network",
            "epochs",
            "dev_top1",
            "slopes_before_drops",
            "steepest_before_drop",
            "val_top1",
        ],
    )


def convergence_markdown(t: pd.DataFrame) -> str:
    rows = [
        [
            f"{r.split}/r{r.replicate}/{r.network}",
            r.epochs,
            pt(r.dev_top1, False, unit=" %"),
            ", ".join(pt(float(x), digits=2) for x in str(r.slopes_before_drops).split()) or "no drop",
            pt(r.val_top1, False, unit=" %"),
        ]
        for r in t.itertuples()
    ]
    columns = ["base network", "epochs", "dev top-1", "dev slope before each rate drop (pt/epoch)", "validation top-1"]
    steep = t.steepest_before_drop.max() if len(t) else float("nan")
    return (
        markdown_table(rows, columns) + f"\nSteepest climb of a base's dev top-1 over the 5 epochs before a rate "
        f"drop: {pt(steep, digits=2)} pt per epoch (a base cut while climbing stops short of its plateau; the "
        "scorecard's restart gain measures by how much). Dev slice: training images held out per class; "
        "validation images are reported only.\n"
    )


def write_convergence(curves: pd.DataFrame, evaluation: pd.DataFrame, csv, md) -> pd.DataFrame:
    t = convergence(curves, evaluation)
    return write_table(t, csv, md, convergence_markdown(t))


def write_table1(df: pd.DataFrame, csv, md) -> pd.DataFrame:
    t = table1(df)
    return write_table(t, csv, md, to_markdown(t))


def published_means() -> pd.DataFrame:
    with resources.files("transferlab.reference").joinpath("published_means.csv").open() as f:
        return pd.read_csv(f)


def published_bases() -> pd.DataFrame:
    with resources.files("transferlab.reference").joinpath("published_bases.csv").open() as f:
        return pd.read_csv(f)
