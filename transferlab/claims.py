"""The paper's findings as a scorecard: statistic, 95% bootstrap interval, verdict.

Each claim is a function of a results table (one row per network with ``top1``).  The
interval comes from a paired bootstrap: every replicate resamples the validation images of
each validation set (all networks evaluated on the same images get the same resample) and,
where a run has several splits or replicates, resamples those too.  Verdict: ``holds`` when
the whole interval is on the claimed side of its threshold, ``does not hold`` when the whole
interval is on the other side, ``inconclusive`` otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

MARGIN = 0.02  # "almost perfectly" / "approximately equal": within 2 points of top-1


def _mean(df, **eq):
    m = df
    for k, v in eq.items():
        m = m[m[k].isin(v)] if isinstance(v, (list, tuple, range)) else m[m[k] == v]
    return m["top1"].mean() if len(m) else np.nan


def _base(df, experiment="random_split"):
    return _mean(df, experiment=experiment, treatment="base")


def c1_general_lower_layers(df):
    return _mean(df, experiment="random_split", treatment="transfer", n=[1, 2]) - _base(df)


def c2_fragile_coadaptation(df):
    mid = _mean(df, experiment="random_split", treatment="selffer", n=[3, 4, 5])
    ends = _mean(df, experiment="random_split", treatment="selffer", n=[1, 7])
    return mid - ends


def c3_finetuning_removes_dip(df):
    # the mean over the dip's layers, not a minimum over n: a minimum of noisy values is biased low
    return _mean(df, experiment="random_split", treatment="selffer_ft", n=[3, 4, 5]) - _base(df)


def c4_transfer_falls_with_depth(df):
    return _mean(df, experiment="random_split", treatment="transfer", n=7) - \
        _mean(df, experiment="random_split", treatment="transfer", n=1)


def c5_transfer_ft_beats_base(df):
    return _mean(df, experiment="random_split", treatment="transfer_ft", n=list(range(1, 8))) - _base(df)


def c6_dissimilar_worse(df):
    rand = _mean(df, experiment="random_split", treatment="transfer", n=7) - _base(df)
    nat = df[df.experiment == "natman"]
    drops = []
    for tgt, g in nat.groupby("target_task"):
        t = g[(g.treatment == "transfer") & (g.n == 7)]["top1"].mean()
        b = g[g.treatment == "base"]["top1"].mean()
        drops.append(t - b)
    return rand - np.nanmean(drops) if drops else np.nan


def c7_transfer_beats_random(df):
    a = df[(df.experiment == "random_split") & (df.treatment == "transfer")].groupby("n")["top1"].mean() - _base(df)
    r = df[(df.experiment == "random_weights") & (df.treatment == "random")].groupby("n")["top1"].mean() - \
        _base(df, "random_weights")
    both = a.index.intersection(r.index)
    return (a[both] - r[both]).min() if len(both) else np.nan


@dataclass(frozen=True)
class Claim:
    key: str
    text: str
    statistic: str
    fn: Callable
    threshold: float
    direction: str  # "above": holds when the interval lies above the threshold


CLAIMS = [
    Claim("general_layers_1_2", "Layers 1-2 transfer almost perfectly", "mean AnB(n=1,2) - mean base",
          c1_general_lower_layers, -MARGIN, "above"),
    Claim("fragile_coadaptation", "Fragile co-adaptation: BnB dips in the middle and recovers",
          "mean BnB(n=3,4,5) - mean BnB(n=1,7)", c2_fragile_coadaptation, 0.0, "below"),
    Claim("finetuning_removes_dip", "Fine-tuning removes the dip (BnB+ ~ base in the middle layers)",
          "mean BnB+(n=3,4,5) - mean base", c3_finetuning_removes_dip, -MARGIN, "above"),
    Claim("transfer_falls_with_depth", "Transferability falls with depth", "AnB(n=7) - AnB(n=1)",
          c4_transfer_falls_with_depth, 0.0, "below"),
    Claim("transfer_ft_beats_base", "Transfer + fine-tuning beats training on the target alone",
          "mean AnB+(n=1..7) - mean base", c5_transfer_ft_beats_base, 0.0, "above"),
    Claim("dissimilar_transfers_worse", "Dissimilar tasks transfer worse at the top",
          "(AnB(7) - base) random split - (AnB(7) - base) natural/man-made", c6_dissimilar_worse, 0.0, "above"),
    Claim("transfer_beats_random", "Transferred frozen features beat random frozen ones at every n",
          "min over n of (AnB(n) - base) - (random(n) - base_all)", c7_transfer_beats_random, 0.0, "above"),
]


def unpack(hexbits: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hexbits), dtype=np.uint8))[:n].astype(bool)


def bootstrap_tables(df: pd.DataFrame, correct: dict, n_boot: int = 1000, seed: int = 0):
    """Yield resampled copies of ``df`` (top1 recomputed from resampled validation images).

    ``correct`` maps a row's (split, replicate, network) to its boolean per-image vector; rows of
    the same (split, target_task) share their validation images and therefore the resample.
    Splits/replicates are resampled too when there are several per experiment.
    """
    rng = np.random.default_rng(seed)
    keys = list(zip(df["split"], df["replicate"], df["network"]))
    groups = {}
    for i, (k, vs) in enumerate(zip(keys, zip(df["split"], df["target_task"]))):
        groups.setdefault(vs, []).append(i)
    mats = {g: np.stack([correct[keys[i]] for i in rows]) for g, rows in groups.items()}
    units = df[["experiment", "split", "replicate"]].drop_duplicates()
    for _ in range(n_boot):
        top1 = np.empty(len(df))
        for g, rows in groups.items():
            m = mats[g]
            idx = rng.integers(0, m.shape[1], m.shape[1])
            top1[rows] = m[:, idx].mean(axis=1)
        b = df.assign(top1=top1)
        parts = []
        for exp, u in units.groupby("experiment"):
            pick = u.iloc[rng.integers(0, len(u), len(u))] if len(u) > 1 else u
            for j, (_, r) in enumerate(pick.iterrows()):
                sel = b[(b.experiment == exp) & (b.split == r.split) & (b.replicate == r.replicate)]
                parts.append(sel.assign(replicate=sel.replicate * 1000 + j) if len(u) > 1 else sel)
        yield pd.concat(parts, ignore_index=True)


def scorecard(df: pd.DataFrame, correct: dict | None = None, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    values = {c.key: c.fn(df) for c in CLAIMS}
    samples = {c.key: [] for c in CLAIMS}
    if correct is not None and n_boot:
        for b in bootstrap_tables(df, correct, n_boot, seed):
            for c in CLAIMS:
                samples[c.key].append(c.fn(b))
    rows = []
    for c in CLAIMS:
        v = values[c.key]
        s = np.asarray(samples[c.key], dtype=float)
        s = s[np.isfinite(s)]
        lo, hi = (np.percentile(s, [2.5, 97.5]) if len(s) else (np.nan, np.nan))
        if not np.isfinite(v):
            verdict = "not run"
        elif not len(s):
            verdict = "inconclusive"
        elif c.direction == "above":
            verdict = "holds" if lo > c.threshold else "does not hold" if hi < c.threshold else "inconclusive"
        else:
            verdict = "holds" if hi < c.threshold else "does not hold" if lo > c.threshold else "inconclusive"
        rows.append({"claim": c.key, "finding": c.text, "statistic": c.statistic, "value": v, "ci_low": lo,
                     "ci_high": hi, "threshold": c.threshold,
                     "holds_if": f"CI {'>' if c.direction == 'above' else '<'} {100 * c.threshold:+.0f} pt", "verdict": verdict})
    return pd.DataFrame(rows)


def to_markdown(t: pd.DataFrame) -> str:
    lines = ["| # | finding | statistic | value | 95% CI | holds if | verdict |", "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(t.itertuples(), 1):
        ci = f"[{100 * r.ci_low:+.1f}, {100 * r.ci_high:+.1f}]" if np.isfinite(r.ci_low) else "n/a"
        val = f"{100 * r.value:+.1f} pt" if np.isfinite(r.value) else "n/a"
        lines.append(f"| {i} | {r.finding} | {r.statistic} | {val} | {ci} pt | {r.holds_if} | "
                     f"**{r.verdict}** |")
    return "\n".join(lines) + "\n"


def correctness_map(pred: pd.DataFrame) -> dict | None:
    if pred["correct_top1"].isna().any():
        return None
    return {(r.split, r.replicate, r.network): unpack(r.correct_top1, r.n_val) for r in pred.itertuples()}


def write_claims(df: pd.DataFrame, pred: pd.DataFrame, csv, md, n_boot: int = 1000) -> pd.DataFrame:
    from .io import atomic_path, atomic_write_text

    correct = correctness_map(pred)
    t = scorecard(df, correct, n_boot=n_boot if correct is not None else 0)
    with atomic_path(csv) as tmp:
        t.to_csv(tmp, index=False)
    note = "" if correct is not None else "\nNo per-image predictions in this run: intervals unavailable.\n"
    atomic_write_text(md, to_markdown(t) + note +
                      f"\n95% intervals: {n_boot} paired bootstrap resamples of the validation images"
                      " (and of splits/replicates where there are several). Margin for 'almost' / '~': "
                      f"{100 * MARGIN:.0f} points of top-1.\n")
    return t
