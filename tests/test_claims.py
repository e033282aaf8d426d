"""The scorecard on hand-made results where the answer is known: values, intervals, verdicts."""
import numpy as np
import pandas as pd
import pytest

from transferlab.cka import spearman
from transferlab.claims import CLAIMS, scorecard, to_markdown, unpack
from transferlab.pairing import PairingError

N_VAL = 2000
BASES = {"A": 0.60, "B": 0.50}  # baseA and baseB 10 points apart: pairing errors show


def effects(paper_like: bool, n: int) -> dict:
    """Accuracy of each treatment relative to its own base."""
    if paper_like:
        return {"selffer": -0.08 if n in (3, 4, 5) else 0.0, "transfer": 0.0 if n <= 2 else -0.03 * (n - 1),
                "selffer_ft": 0.0, "transfer_ft": 0.05}
    return {"selffer": 0.08 if n in (3, 4, 5) else 0.0, "transfer": -0.15 + 0.03 * n,
            "selffer_ft": -0.10, "transfer_ft": -0.15}


def table(paper_like=True, targets=("B", "A"), reps=(0, 1), unit_sd=0.0, n_val=N_VAL, seed=0):
    """A results table (with per-image vectors) shaped like the paper's findings or their opposite.

    ``unit_sd`` adds training noise: one random offset per network."""
    rng = np.random.default_rng(seed)
    rows, correct = [], {}

    def add(exp, split, rep, net, treatment, n, acc, target):
        acc = float(np.clip(acc + (rng.normal(0, unit_sd) if unit_sd else 0.0), 0.01, 0.99))
        c = rng.random(n_val) < acc
        rows.append({"experiment": exp, "split": split, "replicate": rep, "network": net, "treatment": treatment,
                     "n": n, "target_task": target, "top1": c.mean(), "n_val": n_val})
        correct[(split, rep, net)] = c

    for rep in reps:
        for tgt in targets:
            src = "A" if tgt == "B" else "B"
            add("random_split", "random-0", rep, f"base{tgt}", "base", 0, BASES[tgt], tgt)
            for n in range(1, 8):
                e = effects(paper_like, n)
                add("random_split", "random-0", rep, f"{tgt}{n}{tgt}-frozen", "selffer", n, BASES[tgt] + e["selffer"], tgt)
                add("random_split", "random-0", rep, f"{tgt}{n}{tgt}-ft", "selffer_ft", n, BASES[tgt] + e["selffer_ft"], tgt)
                add("random_split", "random-0", rep, f"{src}{n}{tgt}-frozen", "transfer", n, BASES[tgt] + e["transfer"], tgt)
                add("random_split", "random-0", rep, f"{src}{n}{tgt}-ft", "transfer_ft", n, BASES[tgt] + e["transfer_ft"], tgt)
        for tgt, b, net in (("natural", 0.6, "A"), ("man-made", 0.45, "B")):
            add("natman", "natman", rep, f"base{net}", "base", 0, b, tgt)
            src = "B" if net == "A" else "A"
            add("natman", "natman", rep, f"{src}7{net}-frozen", "transfer", 7, b - (0.35 if paper_like else -0.15), tgt)
        add("random_weights", "all", rep, "baseA", "base", 0, 0.45, "all")
        for n in range(1, 8):
            add("random_weights", "all", rep, f"R{n}A-frozen", "random", n, 0.05 if paper_like else 0.6, "all")
    return pd.DataFrame(rows), correct


def cka_table(curves: dict) -> pd.DataFrame:
    """CKA(baseA, baseB) per unit: (split, replicate) -> values at units 1..T."""
    return pd.DataFrame([{"kind": "bases", "split": split, "replicate": rep, "net": "baseA~baseB",
                          "treatment": "bases", "n": 0, "unit": u, "cka": v}
                         for (split, rep), vals in curves.items() for u, v in enumerate(vals, 1)])


FALLING = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4]  # bases agree less with depth, as AnB falls
CKA = cka_table({("random-0", 0): FALLING, ("random-0", 1): FALLING})




def test_paper_like_results_hold():
    df, correct = table(True, n_val=20000)  # enough images for the ±2-point equivalence claims
    t = scorecard(df, correct, n_boot=200, cka=CKA).set_index("claim")
    assert (t.verdict == "holds").all(), t[["value", "ci_low", "ci_high", "verdict"]]
    # (a percentile interval need not hold its point estimate: claim 7 is a minimum over n)
    assert (t.ci_low < t.ci_high).all() and (t.mde > 0).all()


def test_opposite_results_do_not_hold():
    df, correct = table(False, n_val=20000)  # AnB rises with n while CKA falls: rho = -1
    t = scorecard(df, correct, n_boot=200, cka=CKA).set_index("claim")
    assert (t.verdict == "does not hold").all(), t[["value", "ci_low", "ci_high", "verdict"]]


def test_values_are_paired_with_the_own_base_one_direction():
    # only target B: every statistic must be relative to baseB (50 %), not to the mean of the bases (55 %)
    df, correct = table(True, targets=("B",), reps=(0,), n_val=200000)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["general_layers_1_2", "value"] == pytest.approx(0.0, abs=0.005)
    assert t.loc["finetuning_removes_dip", "value"] == pytest.approx(0.0, abs=0.005)
    assert t.loc["transfer_ft_boost", "value"] == pytest.approx(0.05, abs=0.005)  # AnB+ − BnB+
    assert t.loc["transfer_ft_boost", "context_value"] == pytest.approx(0.05, abs=0.005)  # AnB+ − baseB
    assert t.loc["dissimilar_transfers_worse", "value"] == pytest.approx(-0.18 + 0.35, abs=0.005)


def test_values_are_paired_with_the_own_base_both_directions():
    df, _ = table(True, targets=("B", "A"), reps=(0,), n_val=200000)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["general_layers_1_2", "value"] == pytest.approx(0.0, abs=0.005)
    assert t.loc["transfer_falls_with_depth", "value"] == pytest.approx(-0.18, abs=0.005)
    assert t.loc["transfer_beats_random", "value"] == pytest.approx(-0.18 - (0.05 - 0.45), abs=0.005)  # min at n = 7


def test_fine_tuning_far_above_base_is_not_equivalent():
    # claim 3 is two-sided: BnB+ at +6 points is not "≈ base"
    df, correct = table(True)
    df.loc[df.treatment == "selffer_ft", "top1"] += 0.06
    for r in df[df.treatment == "selffer_ft"].itertuples():
        c = correct[(r.split, r.replicate, r.network)].copy()
        c[np.flatnonzero(~c)[: int(0.06 * N_VAL)]] = True
        correct[(r.split, r.replicate, r.network)] = c
    t = scorecard(df, correct, n_boot=200).set_index("claim")
    assert t.loc["finetuning_removes_dip", "verdict"] == "does not hold"


def test_one_unit_gives_image_noise_only_never_holds():
    df, correct = table(True, targets=("B",), reps=(0,))
    t = scorecard(df, correct, n_boot=200, cka=CKA).set_index("claim")
    assert set(t.verdict) == {"image noise only"}, t.verdict


def test_training_noise_widens_the_interval():
    # the same planned effects with 3-point network-level noise: the unit bootstrap must see it
    quiet, cq = table(True, reps=(0, 1, 2), unit_sd=0.0, seed=3)
    noisy, cn = table(True, reps=(0, 1, 2), unit_sd=0.03, seed=3)
    tq = scorecard(quiet, cq, n_boot=300).set_index("claim")
    tn = scorecard(noisy, cn, n_boot=300).set_index("claim")
    width = lambda t: (t.ci_high - t.ci_low)  # noqa: E731
    assert (width(tn) > width(tq)).sum() >= 5, pd.concat([width(tq), width(tn)], axis=1)


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
    assert set(t.set_index("claim").loc[["dissimilar_transfers_worse", "transfer_beats_random"], "verdict"]) == {"not run"}
    md = to_markdown(t)
    assert md.count("\n") == len(CLAIMS) + 2


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
    assert t.loc["general_layers_1_2", "units"] == "random_split: 1"
    assert t.loc["general_layers_1_2", "verdict"] == "image noise only"


def _by_hand(df: pd.DataFrame) -> dict:
    """Every claim's value computed independently of transferlab: per unit against its own base, then averaged."""
    d = df.set_index(["experiment", "split", "replicate", "target_task", "treatment", "n"]).top1.sort_index()
    out = {k: [] for k in ("c1", "c2", "c3", "c4", "c5", "rs7", "nm7")}
    rs_by_n, rw_by_n = {n: [] for n in range(1, 8)}, {n: [] for n in range(1, 8)}
    for (exp, split, rep, tgt), g in df.groupby(["experiment", "split", "replicate", "target_task"]):
        u = d.loc[(exp, split, rep, tgt)]
        base = u.loc[("base", 0)]
        if exp == "random_split":
            anb, bnb = u.loc["transfer"], u.loc["selffer"]
            out["c1"].append(np.mean([anb[1] - base, anb[2] - base]))
            out["c2"].append(np.mean([bnb[3], bnb[4], bnb[5]]) - np.mean([bnb[1], bnb[7]]))
            out["c3"].append(np.mean([u.loc[("selffer_ft", n)] - base for n in (3, 4, 5)]))
            out["c4"].append(anb[7] - anb[1])
            out["c5"].append(np.mean([u.loc[("transfer_ft", n)] - u.loc[("selffer_ft", n)] for n in range(1, 8)]))
            out["rs7"].append(anb[7] - base)
            for n in range(1, 8):
                rs_by_n[n].append(anb[n] - base)
        elif exp == "natman":
            out["nm7"].append(u.loc[("transfer", 7)] - base)
        elif exp == "random_weights":
            for n in range(1, 8):
                rw_by_n[n].append(u.loc[("random", n)] - base)
    m = {k: float(np.mean(v)) for k, v in out.items()}
    return {"general_layers_1_2": m["c1"], "fragile_coadaptation": m["c2"], "finetuning_removes_dip": m["c3"],
            "transfer_falls_with_depth": m["c4"], "transfer_ft_boost": m["c5"],
            "dissimilar_transfers_worse": m["rs7"] - m["nm7"],
            "transfer_beats_random": min(np.mean(rs_by_n[n]) - np.mean(rw_by_n[n]) for n in range(1, 8))}


@pytest.mark.parametrize("targets, reps", [(("B",), (0,)), (("B", "A"), (0,)), (("B",), (0, 1, 2)),
                                           (("B", "A"), (0, 1, 2))],
                         ids=["one-direction-one-rep", "both-directions", "one-direction-3-reps", "both-3-reps"])
def test_claim_values_equal_a_by_hand_computation(targets, reps):
    # network-level noise of 3 points, baseA and baseB 10 points apart: any pairing or averaging slip shows
    df, _ = table(True, targets=targets, reps=reps, unit_sd=0.03, n_val=500, seed=7)
    t = scorecard(df, None, n_boot=0).set_index("claim")
    for claim, value in _by_hand(df).items():
        assert t.loc[claim, "value"] == pytest.approx(value, abs=1e-12), claim
    assert t.loc["transfer_ft_boost", "context_value"] == pytest.approx(
        np.mean([r.top1 - df[(df.treatment == "base") & (df.experiment == "random_split") & (df.replicate == r.replicate)
                                & (df.target_task == r.target_task)].top1.item()
                 for r in df[df.treatment == "transfer_ft"].itertuples()]), abs=1e-12)
    n_units = len(targets) * len(reps)
    assert t.loc["general_layers_1_2", "units"] == f"random_split: {n_units}"


# ------------------------------------------------------------------ survivors of the mutation pass, killed
def test_scorecard_columns_and_the_claim5_context():
    df, correct = table(True, n_val=500)
    t = scorecard(df, correct, n_boot=50)
    assert list(t.columns) == ["claim", "finding", "quote", "statistic", "value", "ci_low", "ci_high", "mde", "kind",
                               "threshold", "holds_if", "why", "scale", "units", "verdict", "context",
                               "context_value",
                               "context_ci_low", "context_ci_high"]
    assert list(t.claim) == [c.key for c in CLAIMS]
    c5 = t.set_index("claim").loc["transfer_ft_boost"]
    assert c5.context == "AnB+ − own base" and c5.context_ci_low < c5.context_value < c5.context_ci_high
    assert (t.set_index("claim").drop("transfer_ft_boost").context == "").all()
    assert t.units.iloc[0] == "random_split: 4" and t.set_index("claim").loc["transfer_beats_random", "units"] == (
        "random_split: 4, random_weights: 2")


def test_not_run_claims_read_n_a_in_markdown():
    df, correct = table(True)
    t = scorecard(df[df.experiment == "random_split"], correct, n_boot=20)
    rows = [line for line in to_markdown(t).splitlines() if "not run" in line]
    # claims 6 and 7 lack their experiments, claim 8 its CKA table
    assert len(rows) == 3 and all("| n/a |" in line for line in rows), rows


def test_a_one_sided_claim_without_an_effect_is_inconclusive():
    # AnB+ exactly as good as BnB+: claim 5's interval straddles 0
    df, correct = table(True, n_val=2000)
    ft = df.treatment == "transfer_ft"
    for r in df[ft].itertuples():
        twin = df[(df.treatment == "selffer_ft") & (df.replicate == r.replicate) & (df.target_task == r.target_task)
                  & (df.n == r.n)].iloc[0]
        correct[(r.split, r.replicate, r.network)] = correct[(twin.split, twin.replicate, twin.network)].copy()
        df.loc[r.Index, "top1"] = twin.top1
    t = scorecard(df, correct, n_boot=300).set_index("claim")
    assert t.loc["transfer_ft_boost", "value"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["transfer_ft_boost", "verdict"] == "inconclusive"


def test_claim7_takes_the_minimum_over_every_n_including_n1():
    # random-weights nets as good as AnB at n = 1 only: the minimum is at n = 1 and is 0
    df, _ = table(True, n_val=500)
    rs_base = df[(df.experiment == "random_split") & (df.treatment == "base")].set_index(["replicate", "target_task"]).top1
    anb1 = df[(df.treatment == "transfer") & (df.n == 1)].assign(d=lambda d: d.top1.to_numpy()
                                                                 - rs_base.loc[list(zip(d.replicate, d.target_task))].to_numpy()).d.mean()
    rw = df.experiment == "random_weights"
    rw_base = df[rw & (df.treatment == "base")].set_index("replicate").top1
    sel = rw & (df.treatment == "random") & (df.n == 1)
    df.loc[sel, "top1"] = rw_base.loc[df.loc[sel, "replicate"]].to_numpy() + anb1
    t = scorecard(df, None, n_boot=0).set_index("claim")
    assert t.loc["transfer_beats_random", "value"] == pytest.approx(0.0, abs=1e-12)


def test_mde_is_2_8_bootstrap_standard_errors():
    from transferlab.claims import MDE_Z, _interval

    s = np.random.default_rng(3).normal(0.01, 0.02, 4000)
    lo, hi, mde = _interval(s)
    assert mde == pytest.approx(MDE_Z * s.std(ddof=1)) and MDE_Z == pytest.approx(2.80)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(s, [2.5, 97.5])))


# ------------------------------------------------------------------ claim 8: CKA against transferability
def test_claim8_is_the_rank_correlation_of_the_mean_cka_curve_and_anb_minus_base_by_hand():
    df, correct = table(True, n_val=200000, seed=5)
    rising = [0.2, 0.3, 0.35, 0.5, 0.6, 0.9, 0.95]  # a second replicate that disagrees
    cka = cka_table({("random-0", 0): FALLING, ("random-0", 1): rising})
    t = scorecard(df, None, n_boot=0, cka=cka).set_index("claim")
    p = df[df.experiment == "random_split"]
    base = p[p.treatment == "base"].set_index(["replicate", "target_task"]).top1
    tr = p[p.treatment == "transfer"]
    delta = (tr.top1.to_numpy() - base.loc[list(zip(tr.replicate, tr.target_task))].to_numpy())
    by_n = pd.Series(delta, index=tr.n.to_numpy()).groupby(level=0).mean()
    mean_cka = (np.array(FALLING) + np.array(rising)) / 2  # each replicate has two units (directions)
    assert t.loc["similarity_predicts_transfer", "value"] == pytest.approx(spearman(mean_cka, by_n.to_numpy()))
    assert t.loc["similarity_predicts_transfer", "scale"] == "rho"


def test_claim8_resamples_cka_with_its_units_and_reads_rho_in_markdown():
    df, correct = table(True, n_val=20000)
    t = scorecard(df, correct, n_boot=200, cka=CKA)
    c8 = t.set_index("claim").loc["similarity_predicts_transfer"]
    assert c8.verdict == "holds" and 0.5 < c8.value <= 1 and c8.ci_high <= 1
    line = to_markdown(t).splitlines()[-1]
    assert line.startswith("| 8 |") and f"| {c8.value:+.2f} |" in line and " pt" not in line.split("|")[4]
    # a CKA curve for another split only: no unit has a CKA value, so no statistic
    other = CKA.assign(split="random-9")
    assert scorecard(df, correct, n_boot=20, cka=other).set_index("claim").loc[
        "similarity_predicts_transfer", "verdict"] == "not run"


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



def test_claim8_interval_carries_the_units_disagreement_about_cka():
    """Two replicates whose bases disagree (CKA falling in one, rising in the other) and accuracies without
    noise: only resampling each unit's CKA curve with the unit makes the interval wide."""
    df, correct = table(True, n_val=20000, seed=2)
    rising = FALLING[::-1]
    cka = cka_table({("random-0", 0): FALLING, ("random-0", 1): rising})
    c8 = scorecard(df, correct, n_boot=300, cka=cka).set_index("claim").loc["similarity_predicts_transfer"]
    assert c8.ci_low < 0 < c8.ci_high and c8.ci_high - c8.ci_low > 0.5, c8[["value", "ci_low", "ci_high"]]
    assert c8.verdict == "inconclusive"
