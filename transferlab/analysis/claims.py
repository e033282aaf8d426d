"""The paper's findings as a scorecard: one paired value per training unit, a small-sample interval, a verdict.

The detail: docs/library.md, `transferlab/analysis/claims.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transferlab.analysis.pairing import base_row, transfer_points, unit_keys
from transferlab.analysis.pairing import units as pairing_units
from transferlab.analysis.stats import heterogeneity, unit_interval
from transferlab.report import markdown_table, pt, write_table

MARGIN = 0.02  # "almost perfectly" / "≈": within 2 points of top-1; also the restart gain's allowance
LEVEL = 0.95
PAPER = "Yosinski et al., NIPS 2014"
RANDOM_SPLIT = "random_split"
SPLIT_WORDS = {RANDOM_SPLIT: "random split", "natman": "natural/man-made split", "random_weights": "all classes"}


def layer_ranges(top: int, trained: set) -> dict:
    """The n each claim reads, by name (the names its statistic's text uses), for an architecture of ``top``
    transfer points (CaffeNet: 7, as the paper) and the layers a run trained (a laptop design may train a
    subset, e.g. n = 1, 4, 7)."""
    mid = list(range(3, top - 1)) if top >= 5 else list(range(2, top))  # CaffeNet: 3, 4, 5
    return {
        "lower_layers": [n for n in (1, 2) if n <= top and n in trained],
        "middle_layers": [n for n in mid if n in trained],
        "end_layers": sorted({1, top} & trained),  # the first and the top transfer point
        "top_layer": top,
        "trained_layers": [n for n in range(1, top + 1) if n in trained],
    }


class Scores:
    """Top-1 of every network, observed (row 0) and under a bootstrap of validation images (rows 1..B).

    The image draws serve one purpose: the image-noise standard error of each unit's value (for
    heterogeneity); intervals come from the spread of unit values.  Every network scored on the same
    validation set (same split and target) gets the same image draw, so paired differences keep their
    pairing.  ``term()`` gives per-unit values of a paired quantity as a (B+1, units) matrix.
    """

    def __init__(self, df: pd.DataFrame, correct: dict | None, n_boot: int, seed: int = 0):
        df = df.reset_index(drop=True)
        self.df = df
        # which n each claim reads: from the architecture's transfer points and the layers the run trained
        t = transfer_points(df)
        rs = df[(df.experiment == RANDOM_SPLIT) & (df.treatment != "base")]
        self.layer_ranges = ranges = layer_ranges(t, set(rs.n.astype(int)) if len(rs) else set(range(1, t + 1)))
        self.lower_layers, self.middle_layers, self.end_layers = (
            ranges["lower_layers"],
            ranges["middle_layers"],
            ranges["end_layers"],
        )
        self.top_layer, self.trained_layers = ranges["top_layer"], ranges["trained_layers"]
        rng = np.random.default_rng(seed)
        b = n_boot if correct is not None else 0
        top1 = np.empty((b + 1, len(df)))
        top1[0] = df["top1"].to_numpy(float)
        if b:
            for _, rows in df.groupby(["split", "target_task"], sort=True).indices.items():
                m = np.stack([correct[(df.split[i], df.replicate[i], df.network[i])] for i in rows]).astype(np.float32)
                n_img = m.shape[1]
                idx = rng.integers(0, n_img, (b, n_img))
                counts = np.zeros((b, n_img), dtype=np.float32)
                np.add.at(counts, (np.arange(b)[:, None], idx), 1.0)
                top1[1:, rows] = (counts @ m.T) / n_img
        self.top1 = top1
        self.base_row = base_row(df)
        self.unit_key = unit_keys(df)
        self.units = {exp: pairing_units(df, exp) for exp in sorted(set(df.experiment))}

    def term(self, exp, treatment, ns, other=None, relative: bool = False) -> np.ndarray:
        """Per-unit mean over ``ns`` of (network − own base), of (network − ``other`` at the same n), or with
        ``relative`` of (network / own base − 1), the paper's Figure 3 scale; NaN where a unit lacks it."""
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
        a, r = self.top1[:, sel.index.to_numpy()], self.top1[:, ref]
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = a / r - 1.0 if relative else a - r
        ukeys = self.unit_key[sel.index].to_numpy()
        for j, u in enumerate(units):
            cols = ukeys == u
            if cols.any():
                out[:, j] = diff[:, cols].mean(axis=1)
        return out


@dataclass(frozen=True)
class Group:
    """One experiment's per-unit values of a claim's statistic: a (B+1, units) matrix, row 0 observed."""

    experiment: str
    values: np.ndarray
    label: str = ""


# Each claim's function returns one group (its estimate: the mean over units) or two (the difference of
# the two groups' means, Welch's interval) of per-unit values.


def c1_general_lower_layers(r: Scores):
    return [Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", r.lower_layers))]


def c2_fragile_coadaptation(r: Scores):
    return [
        Group(
            RANDOM_SPLIT,
            r.term(RANDOM_SPLIT, "selffer", r.middle_layers) - r.term(RANDOM_SPLIT, "selffer", r.end_layers),
        )
    ]


def c3_finetuning_removes_dip(r: Scores):
    return [Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "selffer_ft", r.middle_layers))]


def c4_transfer_falls_with_depth(r: Scores):
    return [Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", r.top_layer) - r.term(RANDOM_SPLIT, "transfer", 1))]


def c5_transfer_ft_beats_selffer_ft(r: Scores):
    """Paired within units where a unit has both AnB+ and BnB+ at some n; else (the paper's released design,
    whose AnB+ and BnB+ nets target different halves) each through its own base, as two groups."""
    paired = r.term(RANDOM_SPLIT, "transfer_ft", r.trained_layers, other="selffer_ft")
    if np.isfinite(paired[0]).any():
        return [Group(RANDOM_SPLIT, paired)]
    return [
        Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer_ft", r.trained_layers), "AnB+ − own base"),
        Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "selffer_ft", r.trained_layers), "BnB+ − own base"),
    ]


def c5_context_transfer_ft_over_base(r: Scores):
    return [Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer_ft", r.trained_layers))]


def c6_dissimilar_worse(r: Scores):
    return [
        Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", r.top_layer, relative=True), "random split"),
        Group("natman", r.term("natman", "transfer", r.top_layer, relative=True), "natural/man-made"),
    ]


def c7_transfer_beats_random(r: Scores):
    return [
        Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", 1, relative=True), "AnB(1)"),
        Group("random_weights", r.term("random_weights", "random", 1, relative=True), "random(1)"),
    ]


def restart_gain(r: Scores):
    return [Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "selffer_ft", r.top_layer))]


def transfer_by_n(r: Scores) -> list:
    """AnB(n) − own base per n: one group per n."""
    return [[Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", n))] for n in r.trained_layers]


def transfer_deltas(df: pd.DataFrame) -> pd.DataFrame:
    """AnB(n) − own base per n with its 95 % t interval over training units (as the scorecard's)."""
    r = Scores(df, None, 0)
    rows = []
    for n, groups in zip(r.trained_layers, transfer_by_n(r), strict=True):
        iv = unit_interval([g.values[0] for g in groups], LEVEL)
        rows.append({"n": n, "delta": iv.value, "lo": iv.low, "hi": iv.high})
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
    context: tuple | None = None  # (label, fn) shown beside the statistic
    scale: str = "pt"  # "pt": a difference of top-1 in points; "rel": relative to the own base, in % of it
    assumes_converged: bool = False  # a base that a second run beats would be read as a finding
    # the statistic on the paper's released networks is the effect size a run's power is judged against
    judged_against_paper: bool = False
    # the variance of one unit's value in units of one network's variance, from the ranges it reads (how far
    # a preset can resolve the claim before it is run); None where no such simple sum exists
    unit_variance: Callable | None = None

    def statistic_for(self, r: Scores | None = None) -> str:
        """The statistic's text with the n it reads for this architecture (CaffeNet's by default)."""
        ranges = r.layer_ranges if r is not None else CAFFENET_RANGES
        top, every = ranges["top_layer"], ranges["trained_layers"]
        text = {k: ",".join(map(str, v)) for k, v in ranges.items() if k != "top_layer"}
        text["trained_layers"] = f"1..{top}" if every == list(range(1, top + 1)) else text["trained_layers"]
        return self.statistic.format(top_layer=top, **text)


# the n the claims read on CaffeNet with every layer trained, as the paper
CAFFENET_RANGES = layer_ranges(7, set(range(1, 8)))


CLAIMS = [
    Claim(
        key="general_layers_1_2",
        text="Layers 1-2 transfer almost perfectly (AnB ≈ base at n = 1, 2)",
        quote="Such first-layer features appear not to be specific to a particular dataset or task, but general",
        statistic="mean over n={lower_layers} of AnB(n) − own base",
        fn=c1_general_lower_layers,
        kind="equivalent",
        threshold=MARGIN,
        why="general features serve the target as well as its own: equal within ±2 pt",
    ),
    Claim(
        key="fragile_coadaptation",
        text="Fragile co-adaptation: BnB dips in the middle layers",
        quote="optimization difficulties related to splitting networks between co-adapted neurons",
        statistic="mean BnB(n={middle_layers}) − mean BnB(n={end_layers}), same unit",
        fn=c2_fragile_coadaptation,
        kind="below",
        threshold=0.0,
        why="the selffer loses accuracy only where co-adapted layers are split",
        assumes_converged=True,
        judged_against_paper=True,
        unit_variance=lambda n: 1 / len(n["middle_layers"]) + 1 / len(n["end_layers"]),
    ),
    Claim(
        key="finetuning_removes_dip",
        text="Fine-tuning removes the dip (BnB+ ≈ base in the middle layers)",
        quote="(paraphrase of Section 4.1) fine-tuning the selffer recovers the base's performance",
        statistic="mean over n={middle_layers} of BnB+(n) − own base",
        fn=c3_finetuning_removes_dip,
        kind="equivalent",
        threshold=MARGIN,
        why="if fine-tuning repairs co-adaptation BnB+ equals its base: within ±2 pt, either side",
        assumes_converged=True,
        unit_variance=lambda n: 1 / len(n["middle_layers"]) + 1,
    ),
    Claim(
        key="transfer_falls_with_depth",
        text="Transferability falls with depth",
        quote="the specialization of higher layer neurons to their original task at the expense of performance "
        "on the target task",
        statistic="AnB({top_layer}) − AnB(1), same unit",
        fn=c4_transfer_falls_with_depth,
        kind="below",
        threshold=0.0,
        why="specific upper-layer features transfer worse than general lower ones",
    ),
    Claim(
        key="transfer_ft_boost",
        text="Transfer + fine-tuning beats fine-tuning the net's own features",
        quote="initializing a network with transferred features from almost any number of layers can produce a "
        "boost to generalization that lingers even after fine-tuning",
        statistic="mean over n={trained_layers} of AnB+(n) − BnB+(n), same unit and n",
        fn=c5_transfer_ft_beats_selffer_ft,
        kind="above",
        threshold=0.0,
        why="BnB+ trains just as long on the same target: only the A-features differ (the paper's control)",
        context=("AnB+ − own base", c5_context_transfer_ft_over_base),
        judged_against_paper=True,
        unit_variance=lambda n: 2 / len(n["trained_layers"]),
    ),
    Claim(
        key="dissimilar_transfers_worse",
        text="Dissimilar tasks transfer worse at the top",
        quote="the transferability of features decreases as the distance between the base task and target task "
        "increases",
        statistic="AnB({top_layer}) / own base − 1: random split minus natural/man-made (the paper's Figure 3 scale)",
        fn=c6_dissimilar_worse,
        kind="above",
        threshold=0.0,
        why="a similar source loses less than a dissimilar one",
        scale="rel",
    ),
    Claim(
        key="transfer_beats_random",
        text="Transferred frozen features beat random frozen ones (n = 1)",
        quote="transferring features even from distant tasks can be better than using random features",
        statistic="AnB(1) / own base − 1 minus random(1) / base of all classes − 1",
        fn=c7_transfer_beats_random,
        kind="above",
        threshold=0.0,
        why="read at n = 1: deeper, random frozen nets sit at chance (ours from n = 2, the paper's "
        "from n = 3), where the comparison is won by construction",
        scale="rel",
    ),
]
RESTART = Claim(
    key="restart_gain",
    text="Bases at their plateau (a second training run gains nothing)",
    quote="(a check of this run, not a claim of the paper) the paper's bases moved about 0.1-0.2 pt over "
    "their last third",
    statistic="BnB+({top_layer}) − own base, same unit",
    fn=restart_gain,
    kind="equivalent",
    threshold=MARGIN,
    why="a base still improving is beaten by a restart from its own weights; claims 2, 3 and 5's "
    "context would read that gain as a finding",
)
CONFOUNDED = "confounded: bases not converged"


def _verdict(kind, t, v, lo, hi) -> str:
    if kind == "above":
        return "holds" if lo > t else "does not hold" if hi < t else "inconclusive"
    if kind == "below":
        return "holds" if hi < t else "does not hold" if lo > t else "inconclusive"
    return "holds" if -t < lo and hi < t else "does not hold" if lo > t or hi < -t else "inconclusive"


def _holds_if(c: Claim) -> str:
    m = 100 * c.threshold
    unit = "pt" if c.scale == "pt" else "%"
    return {
        "above": f"CI > {m:+.0f} {unit}",
        "below": f"CI < {m:+.0f} {unit}",
        "equivalent": f"CI inside ±{m:.0f} {unit}",
    }[c.kind]


def _splits(r: Scores, groups) -> list[str]:
    """The splits of the units that give a group a value."""
    splits = []
    for g in groups:
        for u, v in zip(r.units.get(g.experiment, []), g.values[0], strict=True):
            s = u.split("|")[1]
            if np.isfinite(v) and s not in splits:
                splits.append(s)
    return splits


def _scope(r: Scores, groups) -> str:
    """What a verdict is about: the random splits behind it (one split: that split only)."""
    rs = [s for s in _splits(r, [g for g in groups if g.experiment == RANDOM_SPLIT])]
    others = [g for g in groups if g.experiment != RANDOM_SPLIT]
    tail = "".join(f" vs {SPLIT_WORDS.get(g.experiment, g.experiment)}" for g in others)
    if len(rs) >= 2:
        return f"{len(rs)} random splits ({', '.join(rs)}){tail}: the paper's claim"
    if len(rs) == 1:
        return f"split {rs[0]} only{tail}: two or more splits for the paper's claim"
    return "no random split"


def _not_run_why(r: Scores, c: Claim, groups) -> str:
    """Why a claim has no value: an experiment it reads was not run, or none of the layers it compares was."""
    needed = [RANDOM_SPLIT] + [g.experiment for g in groups if g.experiment != RANDOM_SPLIT]
    missing = [SPLIT_WORDS.get(e, e) for e in dict.fromkeys(needed) if not r.units.get(e)]
    if missing:
        return "not run: no " + " and no ".join(missing)
    return f"not run: the layers it reads were not trained ({c.statistic_for()})"


def clustered(r: Scores, g: Group) -> tuple[np.ndarray, str]:
    """A group's values as the interval uses them: per training unit within one split; averaged per split
    (the splits are the independent replicates) when its units span two or more splits.  The two
    directions of a split, and its replicates, share the split's class halves and, across directions,
    its bases, so they are not independent draws of the paper's general claim."""
    keys = r.units.get(g.experiment, [])
    obs = g.values[0]
    has = [j for j in range(len(keys)) if np.isfinite(obs[j])]
    splits = sorted({keys[j].split("|")[1] for j in has})
    if len(splits) < 2:
        return g.values, f"{len(has)} unit{'' if len(has) == 1 else 's'}"
    cols = np.stack(
        [np.nanmean(g.values[:, [j for j in has if keys[j].split("|")[1] == s]], axis=1) for s in splits], axis=1
    )
    return cols, f"{len(splits)} splits ({len(has)} units)"


def evaluate_claim(c: Claim, r: Scores, n_claims: int) -> dict:
    groups = c.fn(r)
    mats, sizes = zip(*(clustered(r, g) for g in groups), strict=True) if groups else ((), ())
    obs = [m[0] for m in mats]
    iv = unit_interval(obs, LEVEL)
    fam = unit_interval(obs, 1 - (1 - LEVEL) / max(n_claims, 1))
    with np.errstate(invalid="ignore"):
        image_se = [np.nanstd(m[1:], axis=0, ddof=1) if m.shape[0] > 2 else np.full(m.shape[1], np.nan) for m in mats]
    sd, i2 = heterogeneity(obs, image_se)
    counts = [int(np.isfinite(o).sum()) for o in obs]
    per_unit = []
    for g in groups:
        o = g.values[0]
        names = r.units.get(g.experiment, [])
        vals = [f"{_short(names[j])} {pt(o[j])}" for j in range(len(o)) if np.isfinite(o[j])]
        per_unit.append((f"{g.label}: " if g.label else "") + "; ".join(vals))
    if not np.isfinite(iv.value):
        verdict = fam_verdict = "not run"
    elif min(counts) < 2:
        verdict = fam_verdict = "too few units"
    else:
        verdict = _verdict(c.kind, c.threshold, iv.value, iv.low, iv.high)
        fam_verdict = _verdict(c.kind, c.threshold, fam.value, fam.low, fam.high)
    units = " vs ".join(sizes)
    return {
        "claim": c.key,
        "finding": c.text,
        "quote": c.quote,
        "statistic": c.statistic_for(r),
        "value": iv.value,
        "ci_low": iv.low,
        "ci_high": iv.high,
        "se": iv.se,
        "df": iv.df,
        "mde": iv.mde,
        "kind": c.kind,
        "threshold": c.threshold,
        "holds_if": _holds_if(c),
        "why": c.why,
        "scale": c.scale,
        "units": units,
        "unit_values": " | ".join(per_unit),
        "unit_sd": sd,
        "i2": i2,
        "scope": _scope(r, groups) if np.isfinite(iv.value) else _not_run_why(r, c, groups),
        "pairing": "two groups, each through its own base"
        if len(groups) == 2 and groups[0].experiment == groups[1].experiment
        else "",
        "verdict": verdict,
        "verdict_familywise": fam_verdict,
        "familywise_low": fam.low,
        "familywise_high": fam.high,
    }


def unit_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every claim's values as its interval uses them: one row per (claim, group, unit or split)."""
    r = Scores(df, None, 0)
    rows = []
    for c in [RESTART] + CLAIMS:
        for gi, g in enumerate(c.fn(r)):
            vals, _ = clustered(r, g)
            keys = r.units.get(g.experiment, [])
            has = [j for j in range(len(keys)) if np.isfinite(g.values[0][j])]
            splits = sorted({keys[j].split("|")[1] for j in has})
            names = splits if vals.shape[1] == len(splits) and len(splits) >= 2 else [_short(keys[j]) for j in has]
            obs = vals[0][np.isfinite(vals[0])]
            for name, v in zip(names, obs, strict=True):
                rows.append({"claim": c.key, "group": gi, "label": g.label, "unit": name, "value": float(v)})
    return pd.DataFrame(rows, columns=["claim", "group", "label", "unit", "value"])


def _short(unit_key: str) -> str:
    """'random_split|random-0|0|B' -> 'random-0/r0/B'."""
    _, split, rep, tgt = unit_key.split("|")
    return f"{split}/r{rep}/{tgt}"


def scorecard(df: pd.DataFrame, correct: dict | None = None, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """The restart check (row 0) and the claims, one row each (columns: see :func:`evaluate_claim`)."""
    r = Scores(df, correct, n_boot if correct is not None else 0, seed)
    restart = evaluate_claim(RESTART, r, 1)
    restart.update({"verdict_familywise": restart["verdict"]})
    gain = restart["value"]
    confounded = bool(np.isfinite(gain) and gain > MARGIN)
    rows = [dict(restart, context="", context_value=np.nan, context_ci_low=np.nan, context_ci_high=np.nan)]
    for c in CLAIMS:
        row = evaluate_claim(c, r, len(CLAIMS))
        row.update({"context": "", "context_value": np.nan, "context_ci_low": np.nan, "context_ci_high": np.nan})
        if c.context:
            civ = unit_interval([g.values[0] for g in c.context[1](r)], LEVEL)
            row.update(
                {
                    "context": c.context[0],
                    "context_value": civ.value,
                    "context_ci_low": civ.low,
                    "context_ci_high": civ.high,
                }
            )
        if confounded and c.assumes_converged and row["verdict"] not in ("not run", "too few units"):
            row["verdict"] = row["verdict_familywise"] = CONFOUNDED
        if confounded and c.context:  # AnB+ − own base reads the extra training of an underfit base as boost
            row["context"] += " (confounded: bases not converged)"
        rows.append(row)
    return pd.DataFrame(rows)


UNIT_WORD = {"pt": " pt", "rel": " %"}


def _num(x, scale, sign=True) -> str:
    return pt(x, sign, unit=UNIT_WORD[scale])


def _ci(lo, hi, scale) -> str:
    return f"[{pt(lo)}, {pt(hi)}]{UNIT_WORD[scale]}" if np.isfinite(lo) else "n/a"


def to_markdown(t: pd.DataFrame) -> str:
    claims = t[t.claim != RESTART.key]
    lines = []
    if (t.claim == RESTART.key).any():
        r = next(t[t.claim == RESTART.key].itertuples())
        gain_note = (
            f" The claims that read a base as converged (2, 3, and claim 5's AnB+ − base) are marked '{CONFOUNDED}'."
            if r.value > MARGIN
            else ""
        )
        lines += [
            f"**Restart gain** ({r.statistic}): {_num(r.value, 'pt')} {_ci(r.ci_low, r.ci_high, 'pt')}, "
            f"units {r.unit_values}; **{r.verdict}** against ±{100 * MARGIN:.0f} pt.{gain_note}",
            "",
        ]
    rows = []
    for i, r in enumerate(claims.itertuples(), 1):
        stat = r.statistic
        if r.context:
            stat += (
                f" (beside it: {r.context} = {pt(r.context_value)} pt {_ci(r.context_ci_low, r.context_ci_high, 'pt')})"
            )
        spread = (
            ""
            if not np.isfinite(r.unit_sd)
            else f"SD {_num(r.unit_sd, r.scale, False)}" + (f", I² {100 * r.i2:.0f} %" if np.isfinite(r.i2) else "")
        )
        rows.append(
            {
                "#": i,
                "finding": r.finding,
                "statistic": stat,
                "value": _num(r.value, r.scale),
                "95% CI": _ci(r.ci_low, r.ci_high, r.scale),
                "holds if": r.holds_if,
                "MDE": _num(r.mde, r.scale, False),
                "per unit": r.unit_values,
                "spread": spread,
                "scope": r.scope,
                "verdict": f"**{r.verdict}**",
                "family-wise": r.verdict_familywise,
            }
        )
    return "\n".join(lines + [markdown_table(rows)])


def legend(n_claims: int = len(CLAIMS)) -> str:
    return (
        "Each training unit (split × direction × replicate) gives one paired value, shown per unit: a network "
        "minus the base of its own split, replicate and target half, or minus the network it is compared with "
        "in the same unit; 'rel' rows (%) divide by the own base first, as the paper's Figure 3. 95% intervals: "
        "Student-t on the unit values (units − 1 degrees of freedom), Welch's for rows comparing two groups "
        "('vs' in the units column); image noise is inside each unit's value. 'too few units': a group with "
        "one unit, no interval. Spread: SD between units and I², the share of it that image noise (bootstrap "
        "of each unit's validation images) does not explain. Scope: a verdict on one random split is about "
        "that split; the paper's claim needs two or more. Family-wise: the same verdicts with Bonferroni "
        f"intervals over the {n_claims} claims (each at {100 * (1 - (1 - LEVEL) / n_claims):.1f} %). MDE: the "
        "true effect a two-sided 5 % t test finds with 80 % power. Margin for '≈': "
        f"±{100 * MARGIN:.0f} points of top-1. Quotes: {PAPER} (abstract unless marked).\n"
    )


def quotes_markdown() -> str:
    return markdown_table(
        [
            {
                "#": i,
                "the paper's sentence": c.quote if c.quote.startswith("(") else f'"{c.quote}"',
                "statistic": c.statistic_for(),
                "holds if": _holds_if(c),
                "why": c.why,
            }
            for i, c in enumerate([RESTART] + CLAIMS)
        ]
    )


def unpack(hexbits: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hexbits), dtype=np.uint8))[:n].astype(bool)


def correctness_map(pred: pd.DataFrame) -> dict | None:
    if pred["correct_top1"].isna().any():
        return None
    return {(r.split, r.replicate, r.network): unpack(r.correct_top1, r.n_val) for r in pred.itertuples()}


NO_PREDICTIONS = "\nNo per-image predictions: heterogeneity without I².\n"


def scorecard_markdown(t: pd.DataFrame, with_predictions: bool) -> str:
    """claims.md: the table, the note when there were no per-image predictions, the legend."""
    return to_markdown(t) + ("" if with_predictions else NO_PREDICTIONS) + "\n" + legend()


def markdown_from_csv(csv) -> str:
    """claims.md regenerated from its own claims.csv (a committed snapshot's, without a rerun); a card without
    per-image predictions is the one whose I² column is empty."""
    t = pd.read_csv(csv)
    for c in t.columns:
        if pd.api.types.is_string_dtype(t[c]):
            t[c] = t[c].astype(object).where(t[c].notna(), "")
    return scorecard_markdown(t, with_predictions=bool(t["i2"].notna().any()))


def write_claims(df: pd.DataFrame, pred: pd.DataFrame | None, csv, md, n_boot: int = 200) -> pd.DataFrame:
    correct = correctness_map(pred) if pred is not None else None
    t = scorecard(df, correct, n_boot=n_boot if correct is not None else 0)
    return write_table(t, csv, md, scorecard_markdown(t, correct is not None))
