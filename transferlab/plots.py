"""Figures from the results table (never from checkpoints)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import atomic_path  # noqa: E402

# The paper's colours: white base, blue selffer, red transfer; light shades fine-tuned.
TREATMENTS = {
    "base": ("base", "#ffffff"),
    "selffer": ("BnB", "#1f4fbf"),
    "selffer_ft": ("BnB+", "#7fa6f0"),
    "transfer": ("AnB", "#c21f1f"),
    "transfer_ft": ("AnB+", "#f08a8a"),
}


def _save(fig, *paths):
    for p in paths:
        if p is None:
            continue
        ext = str(p).rsplit(".", 1)[-1]
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
    plt.close(fig)


def fig2_frame(df: pd.DataFrame) -> pd.DataFrame:
    d = df[df["experiment"] == "random_split"].copy()
    if d.empty:
        raise ValueError("the results table has no rows of experiment 'random_split' to draw Figure 2 from")
    d["label"] = d["treatment"].map(lambda t: TREATMENTS[t][0])
    return d


def fig2(df: pd.DataFrame, png, pdf=None, title: str = "") -> pd.DataFrame:
    """Figure 2: points per network (top), means per treatment (bottom). Returns the means."""
    d = fig2_frame(df)
    sns.set_theme(style="whitegrid", context="paper")
    fig, (top, bot) = plt.subplots(2, 1, figsize=(7, 8), sharex=True)
    rng = np.random.default_rng(0)
    offsets = {"base": 0.0, "selffer": -0.24, "selffer_ft": -0.08, "transfer": 0.08, "transfer_ft": 0.24}
    for t, (label, colour) in TREATMENTS.items():
        s = d[d["treatment"] == t]
        if s.empty:
            continue
        x = s["n"].to_numpy() + offsets[t] + rng.uniform(-0.05, 0.05, len(s))
        top.scatter(x, s["top1"], s=30, c=colour, edgecolors="black", linewidths=0.6, label=label, zorder=3)
    top.set_ylabel("top-1 accuracy (target task)")
    top.legend(loc="lower left", ncols=5, fontsize=8)
    top.set_title(title or "Figure 2")

    means = d.groupby(["treatment", "n"], as_index=False)["top1"].mean()
    base_mean = means.loc[means["treatment"] == "base", "top1"]
    for t, (label, colour) in TREATMENTS.items():
        if t == "base":
            continue
        s = means[means["treatment"] == t].sort_values("n")
        if s.empty:
            continue
        if len(base_mean):  # lines start from the base at n = 0, as in the paper
            s = pd.concat([pd.DataFrame({"treatment": [t], "n": [0], "top1": [base_mean.iloc[0]]}), s])
        edge = "black"
        bot.plot(s["n"], s["top1"], "-o", color=colour if colour != "#ffffff" else "grey",
                 markeredgecolor=edge, label=label, lw=2, zorder=3)
    if len(base_mean):
        bot.axhline(base_mean.iloc[0], ls="--", color="grey", lw=1, label="base mean")
    bot.set_xlabel("layer n at which the network is chopped and retrained")
    bot.set_ylabel("mean top-1 accuracy")
    bot.set_xticks(range(0, 8))
    bot.legend(loc="lower left", ncols=3, fontsize=8)
    _save(fig, png, pdf)
    return means
