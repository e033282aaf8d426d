"""The scorecard on hand-made results where the answer is known: values, intervals, verdicts."""

import numpy as np
import pandas as pd
import pytest
from conftest import md_rows

from transferlab.analysis.claims import CLAIMS, CONFOUNDED, scorecard, to_markdown, unpack
from transferlab.errors import PairingError

N_VAL = 2000
BASES = {"A": 0.60, "B": 0.50}  # baseA and baseB 10 points apart: pairing errors show


def effects(paper_like: bool, n: int) -> dict:
    """Accuracy of each treatment relative to its own base."""
    if paper_like:
        return {
            "selffer": -0.08 if n in (3, 4, 5) else 0.0,
            "transfer": 0.0 if n <= 2 else -0.03 * (n - 1),
            "selffer_ft": 0.0,
            "transfer_ft": 0.05,
        }
    return {
        "selffer": 0.08 if n in (3, 4, 5) else 0.0,
        "transfer": -0.15 + 0.03 * n,
        "selffer_ft": -0.10,
        "transfer_ft": -0.15,
    }


def table(paper_like=True, targets=("B", "A"), reps=(0, 1), unit_sd=0.0, n_val=N_VAL, seed=0):
    """A results table (with per-image vectors) shaped like the paper's findings or their opposite.

    ``unit_sd`` adds training noise: one random offset per network."""
    rng = np.random.default_rng(seed)
    rows, correct = [], {}

    def add(exp, split, rep, net, treatment, n, acc, target):
        acc = float(np.clip(acc + (rng.normal(0, unit_sd) if unit_sd else 0.0), 0.01, 0.99))
        c = rng.random(n_val) < acc
        rows.append(
            {
                "experiment": exp,
                "split": split,
                "replicate": rep,
                "network": net,
                "treatment": treatment,
                "n": n,
                "target_task": target,
                "top1": c.mean(),
                "n_val": n_val,
            }
        )
        correct[(split, rep, net)] = c

    for rep in reps:
        for tgt in targets:
            src = "A" if tgt == "B" else "B"
            add("random_split", "random-0", rep, f"base{tgt}", "base", 0, BASES[tgt], tgt)
            for n in range(1, 8):
                e = effects(paper_like, n)
                add(
                    "random_split",
                    "random-0",
                    rep,
                    f"{tgt}{n}{tgt}-frozen",
                    "selffer",
                    n,
                    BASES[tgt] + e["selffer"],
                    tgt,
                )
                add(
                    "random_split",
                    "random-0",
                    rep,
                    f"{tgt}{n}{tgt}-ft",
                    "selffer_ft",
                    n,
                    BASES[tgt] + e["selffer_ft"],
                    tgt,
                )
                add(
                    "random_split",
                    "random-0",
                    rep,
                    f"{src}{n}{tgt}-frozen",
                    "transfer",
                    n,
                    BASES[tgt] + e["transfer"],
                    tgt,
                )
                add(
                    "random_split",
                    "random-0",
                    rep,
                    f"{src}{n}{tgt}-ft",
                    "transfer_ft",
                    n,
                    BASES[tgt] + e["transfer_ft"],
                    tgt,
                )
        for tgt, b, net in (("natural", 0.6, "A"), ("man-made", 0.45, "B")):
            add("natman", "natman", rep, f"base{net}", "base", 0, b, tgt)
            src = "B" if net == "A" else "A"
            add("natman", "natman", rep, f"{src}7{net}-frozen", "transfer", 7, b - (0.35 if paper_like else -0.15), tgt)
        add("random_weights", "all", rep, "baseA", "base", 0, 0.45, "all")
        for n in range(1, 8):
            add("random_weights", "all", rep, f"R{n}A-frozen", "random", n, 0.05 if paper_like else 0.6, "all")
    return pd.DataFrame(rows), correct


def claims_only(t: pd.DataFrame) -> pd.DataFrame:
    return t.drop(index="restart_gain")


def test_paper_like_results_hold():
    df, correct = table(True, n_val=20000)  # enough images for the ±2-point equivalence claims
    t = scorecard(df, correct, n_boot=200).set_index("claim")
    assert (claims_only(t).verdict == "holds").all(), t[["value", "ci_low", "ci_high", "verdict"]]
    assert t.loc["restart_gain", "verdict"] == "holds"  # BnB+ = base: the bases are at their plateau
    assert (t.ci_low < t.ci_high).all() and (t.mde > 0).all()


def test_opposite_results_do_not_hold():
    df, correct = table(False, n_val=20000)
    t = scorecard(df, correct, n_boot=200).set_index("claim")
    assert (claims_only(t).verdict == "does not hold").all(), t[["value", "ci_low", "ci_high", "verdict"]]


def test_values_are_paired_with_the_own_base_one_direction():
    # only target B: every statistic must be relative to baseB (50 %), not to the mean of the bases (55 %)
    df, correct = table(True, targets=("B",), reps=(0,), n_val=200000)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["general_layers_1_2", "value"] == pytest.approx(0.0, abs=0.005)
    assert t.loc["finetuning_removes_dip", "value"] == pytest.approx(0.0, abs=0.005)
    assert t.loc["transfer_ft_boost", "value"] == pytest.approx(0.05, abs=0.005)  # AnB+ − BnB+
    assert t.loc["transfer_ft_boost", "context_value"] == pytest.approx(0.05, abs=0.005)  # AnB+ − baseB
    # relative to the own base (Figure 3's scale): −0.18 / 0.50 for the random split, mean of −0.35/0.60 and
    # −0.35/0.45 for natural/man-made
    nat = np.mean([-0.35 / 0.60, -0.35 / 0.45])
    assert t.loc["dissimilar_transfers_worse", "value"] == pytest.approx(-0.18 / 0.50 - nat, abs=0.005)


def test_values_are_paired_with_the_own_base_both_directions():
    df, _ = table(True, targets=("B", "A"), reps=(0,), n_val=200000)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["general_layers_1_2", "value"] == pytest.approx(0.0, abs=0.005)
    assert t.loc["transfer_falls_with_depth", "value"] == pytest.approx(-0.18, abs=0.005)
    # claim 7 at n = 1: AnB(1) = base (0 %), random(1) = 5 % against a 45 % base
    assert t.loc["transfer_beats_random", "value"] == pytest.approx(0.0 - (0.05 / 0.45 - 1), abs=0.005)


def test_fine_tuning_far_above_base_is_not_equivalent():
    # claim 3 is two-sided: BnB+ at +6 points in the middle layers is not "≈ base"
    df, correct = table(True)
    mid = (df.treatment == "selffer_ft") & df.n.isin([3, 4, 5])
    df.loc[mid, "top1"] += 0.06
    for r in df[mid].itertuples():
        c = correct[(r.split, r.replicate, r.network)].copy()
        c[np.flatnonzero(~c)[: int(0.06 * N_VAL)]] = True
        correct[(r.split, r.replicate, r.network)] = c
    t = scorecard(df, correct, n_boot=200).set_index("claim")
    assert t.loc["finetuning_removes_dip", "verdict"] == "does not hold"


def test_a_restart_gain_beyond_the_margin_confounds_the_claims_that_assume_converged_bases():
    """BnB+ 4 points above its base at every n (a second run of an underfit base): claims 2 and 3 are marked
    confounded instead of judged; claims that compare equally trained nets (1, 4, 5) are still judged."""
    df, correct = table(True, n_val=20000)
    df.loc[df.treatment == "selffer_ft", "top1"] += 0.04
    df.loc[df.treatment == "transfer_ft", "top1"] += 0.04
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["restart_gain", "value"] == pytest.approx(0.04, abs=0.01)
    assert t.loc["restart_gain", "verdict"] == "does not hold"
    assert t.loc["fragile_coadaptation", "verdict"] == t.loc["finetuning_removes_dip", "verdict"] == CONFOUNDED
    assert (t.loc[["general_layers_1_2", "transfer_falls_with_depth", "transfer_ft_boost"], "verdict"] == "holds").all()
    assert "marked 'confounded" in to_markdown(t.reset_index())
    assert t.loc["transfer_ft_boost", "context"] == "AnB+ − own base (confounded: bases not converged)"
    # a gain inside the margin confounds nothing
    df.loc[df.treatment.isin(["selffer_ft", "transfer_ft"]), "top1"] -= 0.03
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert CONFOUNDED not in set(t.verdict)


def test_one_unit_gives_no_interval_and_no_verdict():
    df, correct = table(True, targets=("B",), reps=(0,))
    t = scorecard(df, correct, n_boot=200).set_index("claim")
    assert set(t.verdict) == {"too few units"}, t.verdict
    assert t.ci_low.isna().all() and t.value.notna().all()


def test_training_noise_widens_the_interval():
    # the same planned effects with 3-point network-level noise: the spread of unit values must show it
    quiet, cq = table(True, reps=(0, 1, 2), unit_sd=0.0, seed=3)
    noisy, cn = table(True, reps=(0, 1, 2), unit_sd=0.03, seed=3)
    tq = scorecard(quiet, cq, n_boot=100).set_index("claim")
    tn = scorecard(noisy, cn, n_boot=100).set_index("claim")
    width = lambda t: t.ci_high - t.ci_low  # noqa: E731
    assert (width(tn) > width(tq)).sum() >= 6, pd.concat([width(tq), width(tn)], axis=1)


def test_tiny_validation_sets_are_inconclusive():
    df, correct = table(True)
    few = {k: v[:12] for k, v in correct.items()}
    df = df.assign(top1=[few[(r.split, r.replicate, r.network)].mean() for r in df.itertuples()])
    t = scorecard(df, few, n_boot=100).set_index("claim")
    # 12 images per network cannot put an interval inside ±2 points: the equivalence claims stay open
    assert (t.loc[["general_layers_1_2", "finetuning_removes_dip"], "verdict"] == "inconclusive").all(), t.verdict
    assert (t.ci_high - t.ci_low).loc[["general_layers_1_2", "finetuning_removes_dip"]].min() > 2 * 0.02


def test_missing_base_is_an_error():
    df, correct = table(True, targets=("B",), reps=(0,))
    with pytest.raises(PairingError, match="base"):
        scorecard(df[df.network != "baseB"], correct, n_boot=10)


def test_missing_experiments_say_not_run_and_markdown_lists_all_claims():
    df, correct = table(True)
    df = df[df.experiment == "random_split"]
    t = scorecard(df, correct, n_boot=50)
    assert set(t.set_index("claim").loc[["dissimilar_transfers_worse", "transfer_beats_random"], "verdict"]) == {
        "not run"
    }
    md = to_markdown(t)
    assert md.count("\n") == len(CLAIMS) + 4  # the restart line, a blank line, header, rule, one row per claim
    rows = [row for row in md_rows(md) if "**not run**" in row]
    assert len(rows) == 2 and all(row[3] == "n/a" and row[4] == "n/a" for row in rows), rows


def test_a_claim_not_run_says_why():
    """No natural/man-made split: the claims that read it name it. Only n = 1 and 7 trained (the toy paper
    preset): the dip claims name the middle layers they read instead of blaming a missing random split."""
    df, correct = table(True)
    t = scorecard(df[df.experiment != "natman"], correct, n_boot=0).set_index("claim")
    assert t.loc["dissimilar_transfers_worse", "scope"] == "not run: no natural/man-made split"
    ends = df[df.n.isin([0, 1, 7])]
    t = scorecard(ends, correct, n_boot=0).set_index("claim")
    for claim in ("fragile_coadaptation", "finetuning_removes_dip"):
        assert t.loc[claim, "verdict"] == "not run"
        assert (
            t.loc[claim, "scope"].startswith("not run: the layers it reads were not trained (")
            and "3,4,5" in t.loc[claim, "scope"]
        )


def test_unpack_roundtrip():
    c = np.random.default_rng(1).random(37) < 0.5
    assert (unpack(np.packbits(c).tobytes().hex(), 37) == c).all()


def test_a_base_without_derived_networks_is_no_unit():
    # one direction: baseA is trained (AnB copies it) but nothing targets A, so there is one unit
    df, correct = table(True, targets=("B",), reps=(0,))
    a, ca = table(True, targets=("A",), reps=(0,))
    base_a = a[(a.experiment == "random_split") & (a.treatment == "base")]
    df = pd.concat([df, base_a], ignore_index=True)
    correct.update({k: v for k, v in ca.items() if k == ("random-0", 0, "baseA")})
    t = scorecard(df, correct, n_boot=50).set_index("claim")
    assert t.loc["general_layers_1_2", "units"] == "1 unit"
    assert t.loc["general_layers_1_2", "verdict"] == "too few units"


def _by_hand(df: pd.DataFrame) -> dict:
    """Every claim's value computed independently of transferlab: per unit against its own base, then averaged."""
    d = df.set_index(["experiment", "split", "replicate", "target_task", "treatment", "n"]).top1.sort_index()
    out = {k: [] for k in ("c1", "c2", "c3", "c4", "c5", "rs7", "nm7", "rs1", "rw1", "restart")}
    for (exp, split, rep, tgt), _g in df.groupby(["experiment", "split", "replicate", "target_task"]):
        u = d.loc[(exp, split, rep, tgt)]
        base = u.loc[("base", 0)]
        if exp == "random_split":
            anb, bnb = u.loc["transfer"], u.loc["selffer"]
            out["c1"].append(np.mean([anb[1] - base, anb[2] - base]))
            out["c2"].append(np.mean([bnb[3], bnb[4], bnb[5]]) - np.mean([bnb[1], bnb[7]]))
            out["c3"].append(np.mean([u.loc[("selffer_ft", n)] - base for n in (3, 4, 5)]))
            out["c4"].append(anb[7] - anb[1])
            out["c5"].append(np.mean([u.loc[("transfer_ft", n)] - u.loc[("selffer_ft", n)] for n in range(1, 8)]))
            out["rs7"].append(anb[7] / base - 1)
            out["rs1"].append(anb[1] / base - 1)
            out["restart"].append(u.loc[("selffer_ft", 7)] - base)
        elif exp == "natman":
            out["nm7"].append(u.loc[("transfer", 7)] / base - 1)
        elif exp == "random_weights":
            out["rw1"].append(u.loc[("random", 1)] / base - 1)
    m = {k: float(np.mean(v)) for k, v in out.items()}
    return {
        "general_layers_1_2": m["c1"],
        "fragile_coadaptation": m["c2"],
        "finetuning_removes_dip": m["c3"],
        "transfer_falls_with_depth": m["c4"],
        "transfer_ft_boost": m["c5"],
        "dissimilar_transfers_worse": m["rs7"] - m["nm7"],
        "transfer_beats_random": m["rs1"] - m["rw1"],
        "restart_gain": m["restart"],
    }


@pytest.mark.parametrize(
    "targets, reps",
    [(("B",), (0,)), (("B", "A"), (0,)), (("B",), (0, 1, 2)), (("B", "A"), (0, 1, 2))],
    ids=["one-direction-one-rep", "both-directions", "one-direction-3-reps", "both-3-reps"],
)
def test_claim_values_equal_a_by_hand_computation(targets, reps):
    # network-level noise of 3 points, baseA and baseB 10 points apart: any pairing or averaging slip shows
    df, _ = table(True, targets=targets, reps=reps, unit_sd=0.03, n_val=500, seed=7)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    for claim, value in _by_hand(df).items():
        assert t.loc[claim, "value"] == pytest.approx(value, abs=1e-12), claim
    assert t.loc["transfer_ft_boost", "context_value"] == pytest.approx(
        np.mean(
            [
                r.top1
                - df[
                    (df.treatment == "base")
                    & (df.experiment == "random_split")
                    & (df.replicate == r.replicate)
                    & (df.target_task == r.target_task)
                ].top1.item()
                for r in df[df.treatment == "transfer_ft"].itertuples()
            ]
        ),
        abs=1e-12,
    )
    n_units = len(targets) * len(reps)
    assert t.loc["general_layers_1_2", "units"] == (f"{n_units} units" if n_units > 1 else "1 unit")


def test_the_interval_is_students_t_on_the_unit_values():
    """Three units of one split: value = mean of the three per-unit values, CI = mean ± t(0.975, 2)·SD/√3."""
    df, _ = table(True, targets=("B",), reps=(0, 1, 2), unit_sd=0.03, n_val=500, seed=11)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    per_unit = []
    for rep in (0, 1, 2):
        u = df[(df.experiment == "random_split") & (df.replicate == rep)].set_index(["treatment", "n"]).top1
        per_unit.append(u[("transfer", 7)] - u[("transfer", 1)])
    m, sd = np.mean(per_unit), np.std(per_unit, ddof=1)
    half = 4.302652729749 * sd / np.sqrt(3)
    row = t.loc["transfer_falls_with_depth"]
    assert (row.value, row.ci_low, row.ci_high) == pytest.approx((m, m - half, m + half), abs=1e-9)
    assert row.df == 2 and row.unit_sd == pytest.approx(sd)
    assert row.unit_values.count("random-0/r") == 3


def test_two_splits_are_the_units_of_the_interval_and_the_scope_is_the_paper():
    """Both directions of two splits: the interval averages the directions within each split first (two
    clusters, one degree of freedom); one split says its verdicts are about that split."""
    one, _ = table(True, targets=("B", "A"), reps=(0,), unit_sd=0.02, n_val=500, seed=3)
    second = table(True, targets=("B", "A"), reps=(0,), unit_sd=0.02, n_val=500, seed=4)[0]
    second = second[second.experiment == "random_split"].assign(split="random-1")
    two = pd.concat([one, second], ignore_index=True)
    t1 = scorecard(one, None, n_boot=0).set_index("claim")
    t2 = scorecard(two, None, n_boot=0).set_index("claim")
    assert t1.loc["transfer_falls_with_depth", "scope"].startswith("split random-0 only")
    assert t2.loc["transfer_falls_with_depth", "scope"].startswith("2 random splits")
    assert t2.loc["transfer_falls_with_depth", "units"] == "2 splits (4 units)"
    assert t2.loc["transfer_falls_with_depth", "df"] == 1


def test_familywise_verdicts_are_never_firmer_than_the_single_ones():
    df, correct = table(True, reps=(0, 1), unit_sd=0.01, n_val=3000, seed=5)
    t = claims_only(scorecard(df, correct, n_boot=50).set_index("claim"))
    assert ((t.familywise_high - t.familywise_low) >= (t.ci_high - t.ci_low)).all()
    firm = {"holds", "does not hold"}
    assert all(v in firm for v, f in zip(t.verdict, t.verdict_familywise, strict=True) if f in firm)


def test_heterogeneity_reads_training_noise_beyond_image_noise():
    """I² is near 0 when units differ by image noise alone and near 1 with 3-point training noise."""
    quiet, cq = table(True, reps=(0, 1, 2), unit_sd=0.0, n_val=2000, seed=8)
    noisy, cn = table(True, reps=(0, 1, 2), unit_sd=0.03, n_val=20000, seed=8)
    iq = scorecard(quiet, cq, n_boot=200).set_index("claim").loc["transfer_falls_with_depth", "i2"]
    inn = scorecard(noisy, cn, n_boot=200).set_index("claim").loc["transfer_falls_with_depth", "i2"]
    assert iq < 0.5 < 0.9 < inn, (iq, inn)


def test_scorecard_columns_and_the_claim5_context():
    df, correct = table(True, n_val=5000)  # BnB+(7) = base up to image noise: no restart gain
    t = scorecard(df, correct, n_boot=50)
    assert list(t.columns) == [
        "claim",
        "finding",
        "quote",
        "statistic",
        "value",
        "ci_low",
        "ci_high",
        "se",
        "df",
        "mde",
        "kind",
        "threshold",
        "holds_if",
        "why",
        "scale",
        "units",
        "unit_values",
        "unit_sd",
        "i2",
        "scope",
        "pairing",
        "verdict",
        "verdict_familywise",
        "familywise_low",
        "familywise_high",
        "context",
        "context_value",
        "context_ci_low",
        "context_ci_high",
    ]
    assert list(t.claim) == ["restart_gain"] + [c.key for c in CLAIMS]
    c5 = t.set_index("claim").loc["transfer_ft_boost"]
    assert c5.context == "AnB+ − own base" and c5.context_ci_low < c5.context_value < c5.context_ci_high
    assert (t.set_index("claim").drop("transfer_ft_boost").context == "").all()
    assert t.set_index("claim").loc["transfer_beats_random", "units"] == "4 units vs 2 units"


def test_claim5_without_shared_units_compares_each_treatment_with_its_own_base():
    """AnB+ only on target B, BnB+ only on target A (the paper's released design): Welch on AnB+ − base
    against BnB+ − base, said in the pairing column."""
    df, _ = table(True, reps=(0, 1), unit_sd=0.01, n_val=2000, seed=9)
    df = df[
        ~((df.treatment == "transfer_ft") & (df.target_task == "A"))
        & ~((df.treatment == "selffer_ft") & (df.target_task == "B"))
    ]
    t = scorecard(df, None, n_boot=0).set_index("claim")
    rs = df[df.experiment == "random_split"]
    base = rs[rs.treatment == "base"].set_index(["replicate", "target_task"]).top1

    def gain(tr):
        return np.mean(
            [
                rs[(rs.treatment == tr) & (rs.replicate == r) & (rs.target_task == g)].top1.mean()  # noqa: E731
                - base[(r, g)]
                for r, g in base.index
                if ((rs.treatment == tr) & (rs.replicate == r) & (rs.target_task == g)).any()
            ]
        )

    assert t.loc["transfer_ft_boost", "value"] == pytest.approx(gain("transfer_ft") - gain("selffer_ft"), abs=1e-12)
    assert t.loc["transfer_ft_boost", "pairing"] == "two groups, each through its own base"
    assert t.loc["transfer_ft_boost", "units"] == "2 units vs 2 units"


def test_a_one_sided_claim_without_an_effect_is_inconclusive():
    # AnB+ exactly as good as BnB+: claim 5's interval straddles 0
    df, correct = table(True, n_val=2000)
    ft = df.treatment == "transfer_ft"
    for r in df[ft].itertuples():
        twin = df[
            (df.treatment == "selffer_ft")
            & (df.replicate == r.replicate)
            & (df.target_task == r.target_task)
            & (df.n == r.n)
        ].iloc[0]
        correct[(r.split, r.replicate, r.network)] = correct[(twin.split, twin.replicate, twin.network)].copy()
        df.loc[r.Index, "top1"] = twin.top1
    t = scorecard(df, correct, n_boot=100).set_index("claim")
    assert t.loc["transfer_ft_boost", "value"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["transfer_ft_boost", "verdict"] == "inconclusive"


def test_claim7_reads_n1_only():
    # random-weights nets at chance from n = 2 decide nothing: only n = 1 enters, relative to the own bases
    df, _ = table(True, n_val=500)
    t1 = scorecard(df, None, n_boot=0).set_index("claim").loc["transfer_beats_random", "value"]
    df.loc[(df.experiment == "random_weights") & (df.n >= 2), "top1"] = 0.99
    assert scorecard(df, None, n_boot=0).set_index("claim").loc["transfer_beats_random", "value"] == t1


def test_claims_follow_the_architectures_transfer_points():
    """A net with 4 transfer points (a ResNet's stem, 3 blocks): the dip is read at n = 2, 3, the top at 4."""
    df, correct = table(True, n_val=200000)
    df = df[df.n <= 4].assign(transfer_points=4)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["fragile_coadaptation", "statistic"] == "mean BnB(n=2,3) − mean BnB(n=1,4), same unit"
    assert t.loc["transfer_falls_with_depth", "statistic"] == "AnB(4) − AnB(1), same unit"
    assert t.loc["transfer_falls_with_depth", "value"] == pytest.approx(-0.09, abs=0.005)  # −0.03·(4−1)
    # the selffer dips at 3, 4, 5 in the table: of the middle (2, 3) only n = 3, of the ends (1, 4) n = 4
    assert t.loc["fragile_coadaptation", "value"] == pytest.approx(-0.04 - (-0.04), abs=0.005)
    seven = scorecard(table(True, n_val=200000)[0], None, n_boot=0).set_index("claim")
    assert seven.loc["fragile_coadaptation", "statistic"] == "mean BnB(n=3,4,5) − mean BnB(n=1,7), same unit"


def test_a_subset_of_layers_reads_the_n_it_has():
    """A laptop design that trains n = 1, 4, 7 only: claim 1 reads n = 1, the dip n = 4 against 1 and 7."""
    df, _ = table(True, n_val=200000)
    df = df[~df.n.isin([2, 3, 5, 6]) | (df.experiment != "random_split")]
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["general_layers_1_2", "statistic"] == "mean over n=1 of AnB(n) − own base"
    assert t.loc["fragile_coadaptation", "statistic"] == "mean BnB(n=4) − mean BnB(n=1,7), same unit"
    assert t.loc["fragile_coadaptation", "value"] == pytest.approx(-0.08, abs=0.005)
    assert t.loc["transfer_ft_boost", "statistic"].startswith("mean over n=1,4,7 of")


def test_the_papers_released_networks_through_the_scorecard():
    """The authors' final validation top-1 (transferlab/reference): claim 2 is −1.86 pt over their four
    splits and holds; AnB+ and BnB+ target different halves, so claim 5 goes through their own bases."""
    from transferlab.analysis.paper import as_results, base_sd
    from transferlab.analysis.paper import scorecard as paper_scorecard

    t = paper_scorecard().set_index("claim")
    assert t.loc["fragile_coadaptation", "value"] == pytest.approx(-0.01861, abs=5e-5)
    assert t.loc["fragile_coadaptation", "verdict"] == "holds"
    assert t.loc["fragile_coadaptation", "units"] == "4 splits (4 units)"
    assert t.loc["transfer_ft_boost", "pairing"] == "two groups, each through its own base"
    assert t.loc["transfer_falls_with_depth", "scope"].startswith("4 random splits")
    assert base_sd() == pytest.approx(0.00538, abs=5e-5)
    r = as_results()
    assert set(r[r.experiment == "natman"].target_task) == {"natural", "man-made"}
    assert len(r[(r.experiment == "random_split") & (r.treatment == "base")]) == 8


def test_the_forest_figure_draws_the_values_the_intervals_use(tmp_path):
    """unit_table holds exactly the values behind each interval: per unit in one split, per split with two."""
    from transferlab.analysis.claims import unit_table
    from transferlab.analysis.plots import claims_figure

    one, _ = table(True, targets=("B", "A"), reps=(0,), unit_sd=0.02, n_val=500, seed=3)
    u = unit_table(one)
    assert set(u[u.claim == "transfer_falls_with_depth"].unit) == {"random-0/r0/A", "random-0/r0/B"}
    second = table(True, targets=("B", "A"), reps=(0,), unit_sd=0.02, n_val=500, seed=4)[0]
    two = pd.concat([one, second[second.experiment == "random_split"].assign(split="random-1")], ignore_index=True)
    card, u2 = scorecard(two, None, n_boot=0), unit_table(two)
    c4 = u2[u2.claim == "transfer_falls_with_depth"]
    assert list(c4.unit) == ["random-0", "random-1"]
    assert c4.value.mean() == pytest.approx(card.set_index("claim").loc["transfer_falls_with_depth", "value"])
    assert set(u2[u2.claim == "dissimilar_transfers_worse"].group) == {0, 1}
    claims_figure(card, u2, tmp_path / "claims.png")
    assert (tmp_path / "claims.png").read_bytes()[:4] == b"\x89PNG"
