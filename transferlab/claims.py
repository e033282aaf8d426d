"""The paper's findings as a scorecard: paired statistic, 95% interval with training noise, verdict.

Every statistic is built from paired differences (:mod:`transferlab.pairing`): a network minus
the base of its own training unit (split, replicate, target half), or two networks of the same
unit against each other; per-unit values are then averaged over units.

The interval is a two-level bootstrap.  Each resample (1) redraws the validation images of every
validation set, the same redraw for all networks scored on the same images, and (2) redraws the
training units of each experiment with replacement, which puts initialisation, data order and
dropout (training noise) into the interval.  With fewer than two units in an experiment a claim
needs, step (2) cannot happen: the interval then holds image-sampling noise only and the verdict
is ``image noise only``, never ``holds``.

Verdicts: a one-sided claim ``holds`` when the whole interval lies on the claimed side of its
threshold and ``does not hold`` when it lies wholly on the other side; an equivalence claim
("≈") ``holds`` when the interval lies inside ±margin and ``does not hold`` when it lies wholly
outside; ``inconclusive`` otherwise.  ``mde`` is the minimum detectable effect of this run: the
true difference a two-sided 5 % test finds with 80 % power, 2.8 bootstrap standard errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .cka import spearman
from .pairing import base_row, transfer_points, unit_keys
from .pairing import units as pairing_units

MARGIN = 0.02  # "almost perfectly" / "≈": within 2 points of top-1
MDE_Z = 1.96 + 0.84  # two-sided 5 % test, 80 % power
PAPER = "Yosinski et al., NIPS 2014"


class Resampled:
    """Observed (row 0) and bootstrap (rows 1..B) accuracies of every network, with unit weights.

    ``term()`` gives per-unit means of a paired quantity as a (B+1, units) matrix; ``mean()``
    averages it over the (resampled) units of its experiment.
    """

    def __init__(self, df: pd.DataFrame, correct: dict | None, n_boot: int, seed: int = 0,
                 cka: pd.DataFrame | None = None):
        df = df.reset_index(drop=True)
        self.df = df
        self.cka = cka
        # which n each claim reads, from the architecture's transfer points T (CaffeNet: 7, as the paper)
        self.top = t = transfer_points(df)
        self.all = list(range(1, t + 1))
        self.low = [n for n in (1, 2) if n <= t]
        self.mid = list(range(3, t - 1)) if t >= 5 else list(range(2, t))  # CaffeNet: 3, 4, 5
        self.ends = sorted({1, t})
        rng = np.random.default_rng(seed)
        b = n_boot if correct is not None else 0
        top1 = np.empty((b + 1, len(df)))
        top1[0] = df["top1"].to_numpy(float)
        if b:
            groups = df.groupby(["split", "target_task"], sort=True).indices
            for _, rows in groups.items():
                m = np.stack([correct[(df.split[i], df.replicate[i], df.network[i])] for i in rows]).astype(np.float32)
                n_img = m.shape[1]
                idx = rng.integers(0, n_img, (b, n_img))
                counts = np.zeros((b, n_img), dtype=np.float32)
                np.add.at(counts, (np.arange(b)[:, None], idx), 1.0)
                top1[1:, rows] = (counts @ m.T) / n_img
        self.top1 = top1
        # each network's own base and the training units: the pairing rule of transferlab.pairing
        self.base_row = base_row(df)
        self.unit_key = unit_keys(df)
        self.units, self.weights = {}, {}
        for exp in sorted(set(df.experiment)):
            units = pairing_units(df, exp)
            self.units[exp] = units
            w = np.ones((b + 1, len(units)))
            if b and len(units) > 1:
                w[1:] = rng.multinomial(len(units), [1.0 / len(units)] * len(units), size=b)
            self.weights[exp] = w

    def n_units(self, exp: str) -> int:
        return len(self.units.get(exp, []))

    def term(self, exp, treatment, ns, other=None) -> np.ndarray:
        """Per-unit mean over ``ns`` of (network − own base), or of (network − ``other`` at the same n)."""
        ns = [ns] if np.isscalar(ns) else list(ns)
        d = self.df
        sel = d[(d.experiment == exp) & (d.treatment == treatment) & d.n.isin(ns)]
        units = self.units.get(exp, [])
        out = np.full((self.top1.shape[0], len(units)), np.nan)
        if sel.empty:
            return out
        if other is None:
            ref = self.base_row[sel.index].astype(int).to_numpy()
        else:
            o = d[(d.experiment == exp) & (d.treatment == other)]
            okey = pd.Series(o.index, index=self.unit_key[o.index] + "|" + o.n.astype(str))
            skey = self.unit_key[sel.index] + "|" + sel.n.astype(str)
            keep = skey.isin(okey.index).to_numpy()
            sel = sel[keep]
            ref = okey[skey[keep]].to_numpy()
        diff = self.top1[:, sel.index.to_numpy()] - self.top1[:, ref]
        ukeys = self.unit_key[sel.index].to_numpy()
        for j, u in enumerate(units):
            cols = ukeys == u
            if cols.any():
                out[:, j] = diff[:, cols].mean(axis=1)
        return out

    def mean(self, exp: str, per_unit: np.ndarray) -> np.ndarray:
        """Unit-weighted mean of a (B+1, units) matrix; units without a value are left out."""
        if per_unit.shape[1] == 0:
            return np.full(per_unit.shape[0], np.nan)
        w = self.weights[exp] * np.isfinite(per_unit)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nansum(per_unit * w, axis=1) / w.sum(axis=1)


RS = "random_split"


def c1_general_lower_layers(r: Resampled):
    return r.mean(RS, r.term(RS, "transfer", r.low))


def c2_fragile_coadaptation(r: Resampled):
    return r.mean(RS, r.term(RS, "selffer", r.mid) - r.term(RS, "selffer", r.ends))


def c3_finetuning_removes_dip(r: Resampled):
    return r.mean(RS, r.term(RS, "selffer_ft", r.mid))


def c4_transfer_falls_with_depth(r: Resampled):
    return r.mean(RS, r.term(RS, "transfer", r.top) - r.term(RS, "transfer", 1))


def c5_transfer_ft_beats_selffer_ft(r: Resampled):
    return r.mean(RS, r.term(RS, "transfer_ft", r.all, other="selffer_ft"))


def c5_context_transfer_ft_over_base(r: Resampled):
    return r.mean(RS, r.term(RS, "transfer_ft", r.all))


def c6_dissimilar_worse(r: Resampled):
    return r.mean(RS, r.term(RS, "transfer", r.top)) - r.mean("natman", r.term("natman", "transfer", r.top))


def c7_transfer_beats_random(r: Resampled):
    per_n = [r.mean(RS, r.term(RS, "transfer", n)) - r.mean("random_weights", r.term("random_weights", "random", n))
             for n in r.all]
    per_n = np.stack(per_n)
    ok = np.isfinite(per_n).any(axis=0)
    out = np.full(per_n.shape[1], np.nan)
    out[ok] = np.nanmin(per_n[:, ok], axis=0)
    return out


def transfer_by_n(r: Resampled) -> np.ndarray:
    """AnB(n) − own base, averaged over the (resampled) units: a (B+1, T) matrix, n = 1..T."""
    return np.stack([r.mean(RS, r.term(RS, "transfer", n)) for n in r.all], axis=1)


def cka_by_n(r: Resampled) -> np.ndarray:
    """CKA(baseA, baseB) at unit n averaged over the same resampled units as the accuracies: (B+1, T).

    A unit (split, replicate, target) takes the CKA of its split and replicate (the two bases of a
    split are the same pair for both directions)."""
    units = r.units.get(RS, [])
    out = np.full((r.top1.shape[0], len(r.all)), np.nan)
    if r.cka is None or not units:
        return out
    b = r.cka[r.cka["kind"] == "bases"]
    table = b.pivot_table(index=["split", "replicate"], columns="unit", values="cka").reindex(columns=r.all)
    per_unit = np.full((len(units), len(r.all)), np.nan)
    for j, u in enumerate(units):
        _, split, rep, _ = u.split("|")
        if (split, int(rep)) in table.index:
            per_unit[j] = table.loc[(split, int(rep))].to_numpy(float)
    w = r.weights[RS] * np.isfinite(per_unit).all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ np.nan_to_num(per_unit)) / w.sum(axis=1, keepdims=True)


def c8_similarity_predicts_transfer(r: Resampled):
    c, d = cka_by_n(r), transfer_by_n(r)
    return np.array([spearman(c[i], d[i]) for i in range(d.shape[0])])


def transfer_deltas(df: pd.DataFrame, correct: dict | None, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """AnB(n) − own base per n with its 95 % interval (images and units resampled, as the scorecard's)."""
    r = Resampled(df, correct, n_boot if correct is not None else 0, seed)
    d = transfer_by_n(r)
    rows = []
    for j, n in enumerate(r.all):
        lo, hi, _ = _interval(d[1:, j])
        rows.append({"n": n, "delta": d[0, j], "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Claim:
    key: str
    text: str
    quote: str  # the paper's sentence it tests (abstract, or a paraphrase marked as such)
    statistic: str
    fn: Callable
    kind: str  # "above" / "below": one-sided against threshold; "equivalent": inside ±threshold
    threshold: float
    why: str
    experiments: tuple = (RS,)
    context: tuple | None = None  # (label, fn) shown beside the statistic
    scale: str = "pt"  # "pt": a difference of top-1, shown in points; "rho": a rank correlation

    def statistic_for(self, r: "Resampled | None" = None) -> str:
        """The statistic's text with the n it reads for this architecture (CaffeNet's by default)."""
        t = r.top if r is not None else 7
        mid = r.mid if r is not None else [3, 4, 5]
        low = r.low if r is not None else [1, 2]
        return self.statistic.format(low=",".join(map(str, low)), mid=",".join(map(str, mid)), top=t,
                                     all=f"1..{t}")


CLAIMS = [
    Claim("general_layers_1_2", "Layers 1-2 transfer almost perfectly (AnB ≈ base at n = 1, 2)",
          "Such first-layer features appear not to be specific to a particular dataset or task, but general",
          "mean over n={low} of AnB(n) − own base", c1_general_lower_layers, "equivalent", MARGIN,
          "general features serve the target as well as its own: equal within ±2 pt"),
    Claim("fragile_coadaptation", "Fragile co-adaptation: BnB dips in the middle layers",
          "optimization difficulties related to splitting networks between co-adapted neurons",
          "mean BnB(n={mid}) − mean BnB(n=1,{top}), same unit", c2_fragile_coadaptation, "below", 0.0,
          "the selffer loses accuracy only where co-adapted layers are split"),
    Claim("finetuning_removes_dip", "Fine-tuning removes the dip (BnB+ ≈ base in the middle layers)",
          "(paraphrase of Section 4.1) fine-tuning the selffer recovers the base's performance",
          "mean over n={mid} of BnB+(n) − own base", c3_finetuning_removes_dip, "equivalent", MARGIN,
          "if fine-tuning repairs co-adaptation BnB+ equals its base: within ±2 pt, either side"),
    Claim("transfer_falls_with_depth", "Transferability falls with depth",
          "the specialization of higher layer neurons to their original task at the expense of performance "
          "on the target task", "AnB({top}) − AnB(1), same unit", c4_transfer_falls_with_depth, "below", 0.0,
          "specific upper-layer features transfer worse than general lower ones"),
    Claim("transfer_ft_boost", "Transfer + fine-tuning beats fine-tuning the net's own features",
          "initializing a network with transferred features from almost any number of layers can produce a "
          "boost to generalization that lingers even after fine-tuning",
          "mean over n={all} of AnB+(n) − BnB+(n), same unit and n", c5_transfer_ft_beats_selffer_ft, "above", 0.0,
          "BnB+ trains just as long on the same target: only the A-features differ (the paper's control)",
          context=("AnB+ − own base", c5_context_transfer_ft_over_base)),
    Claim("dissimilar_transfers_worse", "Dissimilar tasks transfer worse at the top",
          "the transferability of features decreases as the distance between the base task and target task "
          "increases", "(AnB({top}) − base) random split − (AnB({top}) − base) natural/man-made",
          c6_dissimilar_worse, "above", 0.0, "a similar source loses less than a dissimilar one",
          experiments=(RS, "natman")),
    Claim("transfer_beats_random", "Transferred frozen features beat random frozen ones at every n",
          "transferring features even from distant tasks can be better than using random features",
          "min over n of [(AnB(n) − base) − (random(n) − base of all classes)]", c7_transfer_beats_random,
          "above", 0.0, "trained features carry information random ones lack, at every depth",
          experiments=(RS, "random_weights")),
    Claim("similarity_predicts_transfer", "Where the two bases' representations agree, features transfer",
          "(not in the paper; an extension with Kornblith et al. 2019's linear CKA) layers whose representations "
          "two independently trained bases share are the general ones",
          "Spearman ρ over n={all} between CKA(baseA, baseB) at unit n and AnB(n) − own base",
          c8_similarity_predicts_transfer, "above", 0.0,
          "if CKA measures generality, the units the bases agree on lose least when transferred",
          scale="rho"),
]


def _verdict(c: Claim, v, lo, hi, units_ok: bool) -> str:
    if not np.isfinite(v):
        return "not run"
    if not np.isfinite(lo):
        return "no interval"
    if not units_ok:
        return "image noise only"
    t = c.threshold
    if c.kind == "above":
        return "holds" if lo > t else "does not hold" if hi < t else "inconclusive"
    if c.kind == "below":
        return "holds" if hi < t else "does not hold" if lo > t else "inconclusive"
    return "holds" if -t < lo and hi < t else "does not hold" if lo > t or hi < -t else "inconclusive"


def _holds_if(c: Claim) -> str:
    if c.scale == "rho":
        return {"above": f"CI > {c.threshold:+.1f}", "below": f"CI < {c.threshold:+.1f}"}[c.kind]
    m = 100 * c.threshold
    return {"above": f"CI > {m:+.0f} pt", "below": f"CI < {m:+.0f} pt",
            "equivalent": f"CI inside ±{m:.0f} pt"}[c.kind]


def _interval(s: np.ndarray):
    s = s[np.isfinite(s)]
    if not len(s):
        return np.nan, np.nan, np.nan
    lo, hi = np.percentile(s, [2.5, 97.5])
    return lo, hi, (MDE_Z * s.std(ddof=1) if len(s) > 1 else np.nan)


def scorecard(df: pd.DataFrame, correct: dict | None = None, n_boot: int = 1000, seed: int = 0,
              cka: pd.DataFrame | None = None) -> pd.DataFrame:
    r = Resampled(df, correct, n_boot if correct is not None else 0, seed, cka=cka)
    rows = []
    for c in CLAIMS:
        arr = c.fn(r)
        v = arr[0]
        lo, hi, mde = _interval(arr[1:])
        units = {e: r.n_units(e) for e in c.experiments}
        row = {"claim": c.key, "finding": c.text, "quote": c.quote, "statistic": c.statistic_for(r), "value": v,
               "ci_low": lo, "ci_high": hi, "mde": mde, "kind": c.kind, "threshold": c.threshold,
               "holds_if": _holds_if(c), "why": c.why, "scale": c.scale,
               "units": ", ".join(f"{e}: {n}" for e, n in units.items()),
               "verdict": _verdict(c, v, lo, hi, all(n >= 2 for n in units.values())),
               "context": "", "context_value": np.nan, "context_ci_low": np.nan, "context_ci_high": np.nan}
        if c.context:
            ca = c.context[1](r)
            clo, chi, _ = _interval(ca[1:])
            row.update({"context": c.context[0], "context_value": ca[0], "context_ci_low": clo, "context_ci_high": chi})
        rows.append(row)
    return pd.DataFrame(rows)


def _pt(x, sign=True):
    return "n/a" if not np.isfinite(x) else f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}"


def format_number(x, scale: str, sign=True) -> str:
    """A scorecard number: points of top-1 (``pt``), or a rank correlation (``rho``) as it is."""
    if scale == "rho":
        return "n/a" if not np.isfinite(x) else f"{x:+.2f}" if sign else f"{x:.2f}"
    return _pt(x, sign)


def to_markdown(t: pd.DataFrame) -> str:
    lines = ["| # | finding | statistic | value | 95% CI | holds if | MDE | units | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(t.itertuples(), 1):
        scale = getattr(r, "scale", "pt")
        unit = " pt" if scale == "pt" else ""
        ci = f"[{format_number(r.ci_low, scale)}, {format_number(r.ci_high, scale)}]{unit}" if np.isfinite(r.ci_low) else "n/a"
        stat = r.statistic
        if r.context:
            stat += (f" (beside it: {r.context} = {_pt(r.context_value)} pt "
                     f"[{_pt(r.context_ci_low)}, {_pt(r.context_ci_high)}])")
        lines.append(f"| {i} | {r.finding} | {stat} | {format_number(r.value, scale)}{unit} | {ci} | {r.holds_if} | "
                     f"{format_number(r.mde, scale, False)}{unit} | {r.units} | **{r.verdict}** |")
    return "\n".join(lines) + "\n"


def legend(n_boot: int) -> str:
    return (f"95% intervals: {n_boot} bootstrap resamples of the validation images and, within each experiment, "
            "of its training units (split × direction × replicate), so training noise is in the interval. "
            "Every statistic is paired: a network minus the base of its own split, replicate and target half "
            "(or minus the network it is compared with in the same unit). 'image noise only': fewer than two "
            "training units, so the interval misses training noise and no verdict is given. MDE: the smallest "
            "true effect this run detects with 80% power (2.8 bootstrap standard errors). Margin for '≈': "
            f"±{100 * MARGIN:.0f} points of top-1. Row 8 is a rank correlation ρ, not points: the bases' CKA "
            "curve of each unit is resampled with its unit, the accuracies as above. "
            f"Quotes: {PAPER} (abstract unless marked).\n")


def quotes_markdown() -> str:
    lines = ["| # | the paper's sentence | statistic | holds if | why |", "|---|---|---|---|---|"]
    for i, c in enumerate(CLAIMS, 1):
        quote = c.quote if c.quote.startswith("(") else f"\"{c.quote}\""
        lines.append(f"| {i} | {quote} | {c.statistic_for()} | {_holds_if(c)} | {c.why} |")
    return "\n".join(lines) + "\n"


def unpack(hexbits: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hexbits), dtype=np.uint8))[:n].astype(bool)


def correctness_map(pred: pd.DataFrame) -> dict | None:
    if pred["correct_top1"].isna().any():
        return None
    return {(r.split, r.replicate, r.network): unpack(r.correct_top1, r.n_val) for r in pred.itertuples()}


def write_claims(df: pd.DataFrame, pred: pd.DataFrame, csv, md, n_boot: int = 1000,
                 cka: pd.DataFrame | None = None) -> pd.DataFrame:
    from .io import atomic_path, atomic_write_text

    correct = correctness_map(pred)
    t = scorecard(df, correct, n_boot=n_boot if correct is not None else 0, cka=cka)
    with atomic_path(csv) as tmp:
        t.to_csv(tmp, index=False)
    note = "" if correct is not None else "\nNo per-image predictions in this run: intervals unavailable.\n"
    atomic_write_text(md, to_markdown(t) + note + "\n" + legend(n_boot))
    return t
