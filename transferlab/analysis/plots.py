"""Figures from the result tables (never from checkpoints)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from transferlab.analysis.pairing import base_level, paired, paired_means, transfer_points  # noqa: E402
from transferlab.analysis.stats import unit_interval  # noqa: E402
from transferlab.io import atomic_path
from transferlab.names import TREATMENT_LABELS  # noqa: E402

PCT = 100.0  # every accuracy axis is in %, as every text of the project is

# The paper's colours: white base, blue selffer, red transfer; light shades fine-tuned.
COLOURS = {
    "base": "#ffffff",
    "selffer": "#1f4fbf",
    "selffer_ft": "#7fa6f0",
    "transfer": "#c21f1f",
    "transfer_ft": "#f08a8a",
}
TREATMENTS = {t: (TREATMENT_LABELS[t], colour) for t, colour in COLOURS.items()}


def _save(fig, *paths):
    for p in paths:
        if p is None:
            continue
        ext = str(p).rsplit(".", 1)[-1]
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
    plt.close(fig)


def delta_intervals(p: pd.DataFrame, by=("treatment", "n")) -> pd.DataFrame:
    """95 % intervals of the mean paired difference per ``by`` group, as the scorecard builds them: one value
    per training unit (its network minus its own base), averaged per split when the units span two or more
    splits; Student-t over those values. NaN where a group has one value."""
    rows = []
    for key, g in p.groupby(list(by)):
        vals = g.groupby("split")["delta"].mean() if g.split.nunique() >= 2 else g["delta"]
        iv = unit_interval([vals.to_numpy()])
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True), low=iv.low, high=iv.high))
    return pd.DataFrame(rows, columns=[*by, "low", "high"])


def chance_line(ax, df: pd.DataFrame, values) -> None:
    """A dotted line at chance (1 / classes of the task) where the drawn accuracies come near it."""
    chance = PCT / float(df["n_classes"].max()) if "n_classes" in df and len(df) else float("nan")
    if np.isfinite(chance) and np.nanmin(np.asarray(values, float)) <= 2 * chance:
        ax.axhline(chance, color="black", lw=0.8, ls=":", label=f"chance ({chance:.1f} %)")


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
        top.scatter(x, PCT * s["top1"], s=30, c=colour, edgecolors="black", linewidths=0.6, label=label, zorder=3)
    chance_line(top, d, PCT * d["top1"])
    top.set_ylabel("top-1 accuracy on the target task (%)")
    top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04), ncols=6, fontsize=8, frameon=False)
    top.set_title(title or "Figure 2")

    # paired means: each network minus its own base, averaged, drawn on the level of the bases of
    # the targets present (baseB alone when only AnB/BnB ran)
    level = base_level(d)
    pm = paired_means(d)
    means = pd.concat(
        [
            pd.DataFrame({"treatment": ["base"], "n": [0], "top1": [level], "delta": [0.0]}),
            pm.rename(columns={"level": "top1"})[["treatment", "n", "top1", "delta"]],
        ],
        ignore_index=True,
    )
    iv = delta_intervals(paired(d))
    shift = {"selffer": -0.09, "selffer_ft": -0.03, "transfer": 0.03, "transfer_ft": 0.09}
    for t, (label, colour) in TREATMENTS.items():
        if t == "base":
            continue
        s = means[means["treatment"].isin([t, "base"])].sort_values("n")
        if len(s) < 2:
            continue
        bot.plot(s["n"], PCT * s["top1"], "-o", color=colour, markeredgecolor="black", label=label, lw=2, zorder=3)
        e = iv[(iv.treatment == t) & iv.low.notna()].sort_values("n")
        if len(e):
            bot.errorbar(
                e.n + shift[t],
                PCT * (level + (e.low + e.high) / 2),
                yerr=PCT * (e.high - e.low) / 2,
                fmt="none",
                ecolor=colour,
                elinewidth=1.2,
                capsize=2,
                zorder=2,
            )
    targets = sorted(set(d[d.treatment != "base"].target_task))
    bot.axhline(PCT * level, ls="--", color="grey", lw=1, label=f"base (mean of base{'/base'.join(targets)})")
    bot.set_xlabel("layer n at which the network is chopped and retrained")
    bot.set_ylabel("base + mean paired difference, top-1 (%)")
    bot.set_xticks(range(0, transfer_points(df) + 1))
    units = len(set(paired(d).pipe(lambda p: p.split + "|" + p.replicate.astype(str) + "|" + p.target_task)))
    bot.set_title(
        f"means over {units} training unit{'s' if units != 1 else ''}; bars: 95 % intervals "
        "(Student-t over units, as the scorecard)"
        if units > 1
        else "one training unit: no interval",
        fontsize=8,
    )
    bot.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=6, fontsize=8, frameon=False)
    _save(fig, png, pdf)
    return means


# ----------------------------------------------------------------------------- Figure 3
def fig3_frames(df: pd.DataFrame) -> dict:
    """The numbers behind Figure 3: dissimilar transfer (natural/man-made and the user's own splits, config
    ``splits``), random weights, normalised comparison."""
    out = {}
    # dissimilar transfer: natural/man-made per target, the user's own splits per split and target
    for exp, by in (
        ("natman", ["target_task", "base_task", "n"]),
        ("custom_split", ["split", "target_task", "base_task", "n"]),
    ):
        d = df[df.experiment == exp]
        if (d.treatment == "transfer").any():
            p = paired(d)
            out[exp] = (
                p[p.treatment == "transfer"]
                .groupby(by, as_index=False)
                .agg(top1=("top1", "mean"), base=("base_top1", "mean"), delta=("delta", "mean"))
                .rename(columns={"base_task": "source_task"})
            )
    rw = df[df.experiment == "random_weights"]
    if (rw.treatment == "random").any():
        p = paired(rw)
        out["random_weights"] = (
            p[p.treatment == "random"]
            .groupby("n", as_index=False)
            .agg(top1=("top1", "mean"), base=("base_top1", "mean"), delta=("delta", "mean"))
        )
    rs = df[df.experiment == "random_split"]
    if (rs.treatment == "transfer").any():
        p = paired(rs)
        out["random_split"] = p[p.treatment == "transfer"].groupby("n", as_index=False)["delta"].mean()
    return out


def _fig3_dissimilar(ax, df: pd.DataFrame, fr: dict) -> None:
    """Top left: transfer (frozen) across dissimilar halves, and the bases, per target."""
    colours = {"natural": "#2a9d2a", "man-made": "#7f3fbf"}
    dissimilar = [("", tgt, g) for tgt, g in fr["natman"].groupby("target_task")] if "natman" in fr else []
    if "custom_split" in fr:
        dissimilar += [
            (f"{split}: ", tgt, g) for (split, tgt), g in fr["custom_split"].groupby(["split", "target_task"])
        ]
    for prefix, tgt, g in dissimilar:
        c = colours.get(tgt, None) if not prefix else None
        g = g.sort_values("n")
        line = ax.plot(g.n, PCT * g.top1, "-o", color=c, label=f"{prefix}{g.source_task.iloc[0]} → {tgt}")[0]
        ax.scatter(
            [0],
            [PCT * g.base.iloc[0]],
            color=line.get_color(),
            edgecolors="black",
            s=60,
            zorder=4,
            label=f"{prefix}base {tgt}",
        )
    if dissimilar:
        d = df[df.experiment.isin(["natman", "custom_split"])]
        chance_line(ax, d, [PCT * v for _, _, g in dissimilar for v in g.top1])
        ax.set_title("dissimilar tasks: transfer (frozen) and bases")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "natman experiment not run (nor a split of your own)", ha="center", transform=ax.transAxes)


def _fig3_random(ax, df: pd.DataFrame, fr: dict) -> None:
    """Top right: random, untrained frozen layers and the base of all classes."""
    if "random_weights" in fr:
        g = fr["random_weights"].sort_values("n")
        ax.plot(g.n, PCT * g.top1, "-o", color="black", label="random frozen layers 1..n (their initialisation)")
        ax.scatter(
            [0], [PCT * g.base.iloc[0]], color="white", edgecolors="black", s=60, zorder=4, label="base (all classes)"
        )
        chance_line(ax, df[df.experiment == "random_weights"], PCT * g.top1)
        ax.set_title("random, untrained lower layers")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "random_weights experiment not run", ha="center", transform=ax.transAxes)


def _fig3_normalised(ax, df: pd.DataFrame, fr: dict) -> None:
    """Bottom: every curve minus its own base, with 95 % intervals over training units."""
    lines = {
        "random_split": ("random split: AnB − base", "#c21f1f"),
        "natman": ("natural/man-made split: AnB − base", "#2a9d2a"),
        "random_weights": ("random weights − base", "black"),
    }
    treatment = {"random_split": "transfer", "natman": "transfer", "random_weights": "random"}
    curves = [
        (fr[key], label, c, df[df.experiment == key], treatment[key]) for key, (label, c) in lines.items() if key in fr
    ]
    if "custom_split" in fr:
        curves += [
            (
                g,
                f"your split {split}: AnB − base",
                None,
                df[(df.experiment == "custom_split") & (df.split == split)],
                "transfer",
            )
            for split, g in fr["custom_split"].groupby("split")
        ]
    for k, (frame, label, c, rows, t) in enumerate(curves):
        g = frame.groupby("n", as_index=False)["delta"].mean().sort_values("n")
        g = pd.concat([pd.DataFrame({"n": [0], "delta": [0.0]}), g])
        line = ax.plot(g.n, PCT * g.delta, "-o", color=c, label=label)[0]
        p = paired(rows)
        e = delta_intervals(p[p.treatment == t], by=("n",))
        e = e[e.low.notna()]
        if len(e):
            ax.errorbar(
                e.n + 0.06 * (k - 1),
                PCT * (e.low + e.high) / 2,
                yerr=PCT * (e.high - e.low) / 2,
                fmt="none",
                ecolor=line.get_color(),
                elinewidth=1.2,
                capsize=2,
            )
    ax.axhline(0, color="grey", lw=1, ls="--")
    ax.set_ylabel("top-1 minus own base (points)")
    ax.set_title(
        "normalised: each curve minus its own base; bars: 95 % intervals over training units "
        "(Student-t, as the scorecard; none with one unit)"
    )
    ax.legend(fontsize=8, loc="lower left")


def fig3(df: pd.DataFrame, png, pdf=None, title: str = "") -> dict:
    fr = fig3_frames(df)
    sns.set_theme(style="whitegrid", context="paper")
    fig = plt.figure(figsize=(10, 8))
    tl, tr, bot = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2), fig.add_subplot(2, 1, 2)
    _fig3_dissimilar(tl, df, fr)
    _fig3_random(tr, df, fr)
    _fig3_normalised(bot, df, fr)
    ticks = range(0, transfer_points(df) + 1)
    for ax in (tl, tr, bot):
        ax.set_xticks(ticks)
        ax.set_xlabel("layer n")
    for ax in (tl, tr):
        ax.set_ylabel("top-1 accuracy (%)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, png, pdf)
    return fr


# ----------------------------------------------------------------------------- dataset size
def dataset_size_frame(df: pd.DataFrame) -> pd.DataFrame:
    d = df[(df.treatment == "base") & (df.experiment.isin(["dataset_size", "random_weights"]))]
    if not (df.experiment == "dataset_size").any():
        raise ValueError("the results table has no rows of experiment 'dataset_size'")
    # images per class each base actually trained on (the dev slice and the size cap removed)
    d = d.assign(train_per_class=d.n_train // d.n_classes)
    return d.groupby("train_per_class", as_index=False).agg(
        top1=("top1", "mean"), top5=("top5", "mean"), networks=("top1", "size")
    )


def fig_dataset_size(df: pd.DataFrame, png, pdf=None, title: str = "") -> pd.DataFrame:
    g = dataset_size_frame(df)
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(g.train_per_class, PCT * g.top1, "-o", color="black", label="top-1")
    ax.plot(g.train_per_class, PCT * g.top5, "--s", color="grey", label="top-5")
    ax.set_xscale("log")
    ax.set_xticks(g.train_per_class.tolist())
    ax.set_xticklabels([str(k) for k in g.train_per_class])
    ax.set_xlabel("training images per class")
    ax.set_ylabel("validation accuracy, base net, all classes (%)")
    ax.set_title(title or "dataset size")
    ax.legend()
    _save(fig, png, pdf)
    return g


# ----------------------------------------------------------------------------- looking inside
def fig_curves(curves: pd.DataFrame, png, title: str = "") -> None:
    """Validation top-1 per epoch, one panel per treatment, one line per network."""
    c = curves[curves["split"].str.startswith("random-")]
    if c.empty:
        raise ValueError("curves.parquet has no random-split networks")
    if "dev_top1" not in c:
        raise ValueError("curves.parquet has no dev_top1: the run had no dev slice (data.dev_per_class: 0)")
    c = c.assign(unit=c["network"] + "/r" + c["replicate"].astype(str), dev_pct=PCT * c["dev_top1"])
    sns.set_theme(style="whitegrid", context="paper")
    treatments = [t for t in TREATMENTS if t in set(c.treatment)]
    fig, axes = plt.subplots(1, len(treatments), figsize=(3.2 * len(treatments), 3.2), sharey=True, squeeze=False)
    for ax, t in zip(axes[0], treatments, strict=True):
        s = c[c.treatment == t]
        sns.lineplot(
            data=s,
            x="epoch",
            y="dev_pct",
            hue="n",
            units="unit",
            estimator=None,
            ax=ax,
            palette="viridis",
            legend=(t == treatments[-1]),
        )
        ax.set_title(TREATMENTS[t][0])
        ax.set_ylabel("dev-slice top-1, held-out training images (%)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, png)


def filter_grid(weight: np.ndarray) -> np.ndarray:
    """conv1 weights (out, 3, k, k) as one RGB image, each filter scaled to [0, 1]."""
    w = np.asarray(weight, dtype=np.float32)
    n, _, k, _ = w.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.ones((rows * (k + 1) + 1, cols * (k + 1) + 1, 3), dtype=np.float32)
    for i in range(n):
        f = w[i].transpose(1, 2, 0)
        f = (f - f.min()) / max(f.max() - f.min(), 1e-12)
        r, c = divmod(i, cols)
        grid[1 + r * (k + 1) : 1 + r * (k + 1) + k, 1 + c * (k + 1) : 1 + c * (k + 1) + k] = f
    return grid


def fig_filters(weights: dict, png, title: str = "", shares: dict | None = None) -> None:
    """conv1 filters of each network (``weights``: name -> array (filters, 3, k, k), from conv1.parquet)."""
    fig, axes = plt.subplots(1, len(weights), figsize=(4 * len(weights), 4.3), squeeze=False)
    for ax, (name, w) in zip(axes[0], weights.items(), strict=True):
        ax.imshow(filter_grid(w), interpolation="nearest")
        extra = f"\nlow-frequency energy {100 * shares[name]:.0f} %" if shares and name in shares else ""
        ax.set_title(f"{name}: conv1 filters{extra}")
        ax.axis("off")
    if title:
        fig.suptitle(title)
    _save(fig, png)


PAPER_SOURCE = "paper: ImageNet, released networks"


def fig_reference(df: pd.DataFrame, paper: pd.DataFrame, png, title: str = "") -> pd.DataFrame:
    """This run's random-split means next to the paper's, each network minus its own base.

    ``paper`` is the authors' released networks as a results table (:func:`transferlab.analysis.paper.as_results`),
    paired the same way: every network against the base of its own split and target half."""
    d = fig2_frame(df)
    ours = paired_means(d)  # each network minus its own base
    ours["source"] = "this run"
    r = paired_means(paper[paper.experiment == "random_split"])
    r["source"] = PAPER_SOURCE
    both = pd.concat(
        [
            ours[ours.treatment != "base"][["treatment", "n", "delta", "source"]],
            r[r.treatment != "base"][["treatment", "n", "delta", "source"]],
        ],
        ignore_index=True,
    )
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for t, (label, colour) in TREATMENTS.items():
        if t == "base":
            continue
        for src, ls in (("this run", "-"), (PAPER_SOURCE, "--")):
            s = both[(both.treatment == t) & (both.source == src)].sort_values("n")
            if len(s):
                ax.plot(s.n, 100 * s.delta, ls, marker="o", color=colour, label=f"{label}, {src}")
    ax.axhline(0, color="grey", lw=1)
    ax.set_xlabel("layer n")
    ax.set_ylabel("top-1 minus own base (points)")
    ax.set_title(title or "normalised against base: this run vs the paper")
    # below the axes: inside, it covered this run's AnB points at the deepest n
    ax.legend(fontsize=7, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    _save(fig, png)
    return both


def _cka_finetuned_panel(right, ft: pd.DataFrame, rng, units, ticks, xlim) -> None:
    """The CKA figure's right panel: each fine-tuned net against its source base at u = n."""
    for t in ("selffer_ft", "transfer_ft"):
        label, colour = TREATMENTS[t]
        s = ft[ft["treatment"] == t]
        if s.empty:
            continue
        means = s.groupby("n")["cka"].mean()
        right.scatter(
            s["n"] + rng.uniform(-0.08, 0.08, len(s)),
            s["cka"],
            s=16,
            color=colour,
            edgecolors="black",
            linewidths=0.4,
            zorder=3,
        )
        right.plot(
            means.index,
            means,
            "-o",
            color=colour,
            markeredgecolor="black",
            zorder=4,
            label=f"{label}: vs its source base",
        )
    if ft.empty:
        right.text(0.5, 0.5, "no fine-tuned networks in this table", ha="center", transform=right.transAxes)
    else:
        right.legend(loc="lower left", fontsize=8)
    right.set_ylim(-0.02, 1.05)
    right.set_xticks(units, ticks)
    right.set_xlim(xlim)
    right.set_xlabel("copy depth n (CKA at unit u = n, the deepest copied unit)")
    right.set_ylabel("linear CKA, fine-tuned net vs source base")
    right.set_title("how far fine-tuning moved the copied layers")


def cka_figure(cka: pd.DataFrame, deltas: pd.DataFrame, png, pdf=None, title: str = "") -> None:
    """Linear CKA by transfer unit. Left: baseA vs baseB at each unit, with AnB(n) − base (points, 95 %
    interval) on a twin axis at x = n. Right: each fine-tuned net vs its own source base at its deepest
    copied unit (u = n), against n, for BnB+ and AnB+."""
    need = {"kind", "net", "treatment", "n", "unit", "unit_name", "cka"}
    if missing := sorted(need - set(cka.columns)):
        raise ValueError(f"the CKA table lacks the columns {missing}; it needs {sorted(need)}")
    if missing := sorted({"n", "delta", "lo", "hi"} - set(deltas.columns)):
        raise ValueError(f"the deltas table lacks the columns {missing}; it needs ['delta', 'hi', 'lo', 'n']")
    bases = cka[cka["kind"] == "bases"]
    if bases.empty:
        raise ValueError("the CKA table has no rows of kind 'bases' (baseA vs baseB) to draw the left panel from")
    ft = cka[(cka["kind"] == "base_vs_ft") & (cka["unit"] == cka["n"])]
    sns.set_theme(style="whitegrid", context="paper")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    rng = np.random.default_rng(0)

    per_unit = bases.groupby("unit").agg(cka=("cka", "mean"), name=("unit_name", "first")).sort_index()
    left.scatter(
        bases["unit"] + rng.uniform(-0.08, 0.08, len(bases)), bases["cka"], s=14, color="grey", alpha=0.6, zorder=2
    )
    left.plot(per_unit.index, per_unit["cka"], "-o", color="black", zorder=3, label="CKA(baseA, baseB), mean")
    ticks = [f"{u}\n{name}" for u, name in per_unit["name"].items()]
    left.set_xticks(per_unit.index, ticks)
    left.set_ylim(-0.02, 1.05)
    left.set_xlabel("transfer unit u (= copy depth n)")
    left.set_title("similarity of the two bases vs transferability")
    twin = left.twinx()
    d = deltas.sort_values("n")
    twin.errorbar(
        d["n"],
        100 * d["delta"],
        yerr=[100 * (d["delta"] - d["lo"]), 100 * (d["hi"] - d["delta"])],
        fmt="s--",
        color=TREATMENTS["transfer"][1],
        capsize=3,
        label="AnB(n) − base, 95 % interval (right axis, red)",
    )
    # the right axis in red, ticks and spine included; no line of its own inside the plot (a zero line
    # drawn there sat at some CKA value of the left axis and read as a threshold)
    red = TREATMENTS["transfer"][1]
    twin.set_ylabel("AnB(n) − base, top-1 points (red)", color=red)
    twin.tick_params(axis="y", colors=red)
    twin.spines["right"].set_color(red)
    twin.grid(False)
    left.set_ylabel("linear CKA, baseA vs baseB (black)")
    handles = [h for ax in (left, twin) for h in ax.get_legend_handles_labels()[0]]
    left.legend(handles=handles, loc="lower left", fontsize=8)

    _cka_finetuned_panel(right, ft, rng, per_unit.index, ticks, left.get_xlim())
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, png, pdf)


def cka_summary(cka: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """The numbers of the CKA figure, one row per transfer unit u (= copy depth n): mean CKA(baseA, baseB)
    at u, AnB(u) − base with its interval, and the mean CKA of BnB+ / AnB+ with their source base at u = n."""
    bases = cka[cka["kind"] == "bases"].groupby("unit").agg(unit_name=("unit_name", "first"), cka_bases=("cka", "mean"))
    ft = cka[(cka["kind"] == "base_vs_ft") & (cka["unit"] == cka["n"])]
    for t, col in (("selffer_ft", "cka_selffer_ft"), ("transfer_ft", "cka_transfer_ft")):
        bases[col] = ft[ft["treatment"] == t].groupby("unit")["cka"].mean()
    d = deltas.set_index("n").rename(
        columns={"delta": "transfer_delta", "lo": "transfer_delta_lo", "hi": "transfer_delta_hi"}
    )
    return bases.join(d[["transfer_delta", "transfer_delta_lo", "transfer_delta_hi"]]).rename_axis("unit").reset_index()


def claims_figure(card: pd.DataFrame, units: pd.DataFrame, png, title: str = "") -> None:
    """The scorecard as a forest plot: per claim (row 0 the restart gain) the values its interval is built
    from (dots: training units, or splits when there are several), the estimate with its 95 % interval
    (bar) and the threshold (line; the ±margin band of "≈" claims shaded); the verdict on the right."""
    sns.set_theme(style="whitegrid", context="paper")
    rows = list(card.itertuples())
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.0 + 0.9 * len(rows)), squeeze=False)
    for ax, r in zip(axes[:, 0], rows, strict=True):
        u = units[units.claim == r.claim]
        unit_word = "%" if getattr(r, "scale", "pt") == "rel" else "pt"
        for gi, g in u.groupby("group"):
            y = 0.15 if gi == 0 else -0.15
            ax.scatter(
                100 * g.value,
                np.full(len(g), y),
                s=22,
                color="#444444" if gi == 0 else "#999999",
                zorder=3,
                label=g.label.iloc[0] or None,
            )
        if np.isfinite(r.value):
            ax.plot([100 * r.value], [0], "D", color="#c21f1f", zorder=4)
        if np.isfinite(r.ci_low):
            ax.plot([100 * r.ci_low, 100 * r.ci_high], [0, 0], "-", color="#c21f1f", lw=2.5, zorder=2)
        t = 100 * r.threshold
        if r.kind == "equivalent":
            ax.axvspan(-t, t, color="#2a9d2a", alpha=0.12, zorder=0)
        else:
            ax.axvline(t, color="#2a9d2a", lw=1)
        ax.set_yticks([])
        ax.set_ylim(-0.5, 0.5)
        two = u.group.nunique() > 1
        ax.set_title(
            f"{r.finding}" + (" (dots: each group's units; red: the difference of the groups)" if two else ""),
            fontsize=8,
            loc="left",
        )
        ax.text(1.01, 0.5, r.verdict, transform=ax.transAxes, fontsize=8, va="center")
        ax.set_xlabel(f"{unit_word}", fontsize=7, labelpad=1)
        ax.tick_params(axis="x", labelsize=7)
        if u.label.ne("").any():
            ax.legend(fontsize=6, loc="upper right", frameon=False)
    fig.suptitle(
        title or "scorecard: values per unit (dots), estimate and 95 % interval (red), threshold (green)", fontsize=9
    )
    fig.tight_layout()
    _save(fig, png)
