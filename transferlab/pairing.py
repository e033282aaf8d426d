"""The one pairing rule of the analysis: every network against its own base.

A derived network (AnB, BnB, their fine-tuned versions, a natural/man-made transfer, a
random-weights net) is compared with the base trained on the same split and replicate for the
same target half: ``A3B-frozen`` of ``random-0``/r1 with ``baseB`` of ``random-0``/r1, never with
the mean of baseA and baseB.  Differences are taken per network and only then aggregated.

A *training unit* is (experiment, split, replicate, target): the networks of one unit share a
base, a target half and its validation images; units are what the scorecard's bootstrap
resamples to put training noise into its intervals.  Claims, Figure 2, Figure 3, Table 1 and the
reference panel all go through :func:`paired`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

UNIT = ["experiment", "split", "replicate", "target_task"]


class PairingError(ValueError):
    pass


def paired(df: pd.DataFrame, top1: str = "top1") -> pd.DataFrame:
    """Every non-base row with ``base_top1`` (its own base) and ``delta`` = top1 − base_top1.

    Raises when a derived network has no base in its unit (an incomplete table would otherwise
    be compared with the wrong base).
    """
    base = df[df.treatment == "base"]
    dup = base.duplicated(UNIT)
    if dup.any():
        raise PairingError(f"several bases for one training unit: {base[dup][UNIT].to_dict('records')[:3]}")
    b = base[UNIT + [top1]].rename(columns={top1: "base_top1"})
    d = df[df.treatment != "base"].merge(b, on=UNIT, how="left", validate="many_to_one")
    lost = d[d.base_top1.isna()]
    if len(lost):
        raise PairingError(
            f"{len(lost)} networks have no base trained on the same split, replicate and target half, e.g. "
            f"{lost[UNIT + ['network']].iloc[0].to_dict()}; expected base{{target}} in the table")
    d["delta"] = d[top1] - d["base_top1"]
    return d


def base_level(df: pd.DataFrame, experiment: str = "random_split", top1: str = "top1") -> float:
    """Figure 2's n = 0 point: the mean base over the targets that derived networks actually have.

    With only AnB/BnB (target B) this is baseB alone; with both directions, the mean of baseA and
    baseB (per unit, then averaged).
    """
    d = df[df.experiment == experiment]
    units = d[d.treatment != "base"][UNIT].drop_duplicates()
    bases = d[d.treatment == "base"].merge(units, on=UNIT) if len(units) else d[d.treatment == "base"]
    return float(bases[top1].mean()) if len(bases) else float("nan")


def paired_means(df: pd.DataFrame, experiment: str = "random_split") -> pd.DataFrame:
    """Per treatment and n: the mean paired difference (over units) and the level it implies.

    ``level`` = base_level + mean delta: the point Figure 2 draws, on the scale of the bases of
    the targets present.  ``units`` counts the training units behind each mean.
    """
    p = paired(df[df.experiment == experiment])
    per_unit = p.groupby(["treatment", "n"] + UNIT, as_index=False)["delta"].mean()
    g = per_unit.groupby(["treatment", "n"], as_index=False).agg(delta=("delta", "mean"), units=("delta", "size"))
    g["level"] = base_level(df, experiment) + g["delta"]
    return g




def unit_means(p: pd.DataFrame, value: str = "delta", **eq) -> pd.Series:
    """Mean of ``value`` per training unit over the rows matching ``eq`` (lists = membership)."""
    m = p
    for k, v in eq.items():
        m = m[m[k].isin(v)] if isinstance(v, (list, tuple, range, np.ndarray)) else m[m[k] == v]
    if m.empty:
        return pd.Series(dtype=float)
    return m.groupby(UNIT)[value].mean()
