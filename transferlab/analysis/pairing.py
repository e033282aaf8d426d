"""The one pairing rule of the analysis: every network against its own base.

The detail: docs/library.md, `transferlab/analysis/pairing.py`."""

from __future__ import annotations

import pandas as pd

from transferlab.errors import PairingError

UNIT = ["experiment", "split", "replicate", "target_task"]


def unit_keys(df: pd.DataFrame) -> pd.Series:
    """Each row's training unit as one string key (split, replicate and target half of an experiment)."""
    if df.empty:
        return pd.Series([], index=df.index, dtype=str)
    cols = [df[c].astype(str) for c in UNIT]
    key = cols[0]
    for c in cols[1:]:
        key = key + "|" + c
    return key


def base_row(df: pd.DataFrame) -> pd.Series:
    """For every row, the index label of its own base: the base of the same training unit.

    Raises when a unit has several bases, or a derived network has none (an incomplete table would
    otherwise be compared with the wrong base)."""
    key = unit_keys(df)
    is_base = df.treatment.eq("base")
    bases = pd.Series(df.index[is_base], index=key[is_base])
    if bases.index.duplicated().any():
        dup = sorted(set(bases.index[bases.index.duplicated()]))
        raise PairingError(f"several bases for one training unit: {dup[:3]}")
    ref = key.map(bases)
    lost = df[ref.isna() & ~is_base]
    if len(lost):
        raise PairingError(
            f"{len(lost)} networks have no base trained on the same split, replicate and target half, e.g. "
            f"{lost[UNIT + ['network']].iloc[0].to_dict()}; expected base{{target}} in the table"
        )
    return ref


def units(df: pd.DataFrame, experiment: str) -> list[str]:
    """The training units of an experiment: targets that derived networks were trained on (baseA alone,
    when only AnB/BnB target B, is no unit: nothing is compared with it); an experiment of bases only
    (dataset size) has one unit per base."""
    d = df[df.experiment == experiment]
    derived = d[d.treatment != "base"]
    return sorted(set(unit_keys(derived if len(derived) else d)))


def paired(df: pd.DataFrame, top1: str = "top1") -> pd.DataFrame:
    """Every non-base row with ``base_top1`` (its own base) and ``delta`` = top1 − base_top1."""
    ref = base_row(df)
    d = df[df.treatment != "base"].copy()
    d["base_top1"] = df.loc[ref[d.index].to_numpy(), top1].to_numpy()
    d["delta"] = d[top1] - d["base_top1"]
    return d


def base_level(df: pd.DataFrame, experiment: str = "random_split", top1: str = "top1") -> float:
    """Figure 2's n = 0 point: the mean base over the experiment's units (:func:`units`).

    With only AnB/BnB (target B) this is baseB alone; with both directions, the mean of baseA and
    baseB (per unit, then averaged).
    """
    d = df[df.experiment == experiment]
    bases = d[(d.treatment == "base") & unit_keys(d).isin(units(d, experiment))]
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


def transfer_points(df: pd.DataFrame) -> int:
    """How many units the run's architecture can copy (7 for CaffeNet; tables from before the column
    existed are CaffeNet's)."""
    if "transfer_points" not in df or df.empty:
        return 7
    points = set(df["transfer_points"].astype(int))
    if len(points) != 1:
        raise PairingError(f"the results table mixes architectures with {sorted(points)} transfer points")
    return points.pop()
