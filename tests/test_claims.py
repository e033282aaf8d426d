"""The scorecard's verdicts on hand-made results where the answer is known."""
import numpy as np
import pandas as pd
import pytest

from transferlab.claims import CLAIMS, scorecard, to_markdown, unpack

N_VAL = 2000


def table(paper_like: bool):
    """Accuracies shaped like the paper's findings (or their opposite), with per-image vectors."""
    rng = np.random.default_rng(0)
    rows, correct = [], {}

    def add(exp, split, net, treatment, n, acc, target="B"):
        c = rng.random(N_VAL) < acc
        rows.append({"experiment": exp, "split": split, "replicate": 0, "network": net, "treatment": treatment,
                     "n": n, "target_task": target, "top1": c.mean(), "n_val": N_VAL})
        correct[(split, 0, net)] = c

    base = 0.50
    add("random_split", "random-0", "baseB", "base", 0, base)
    for n in range(1, 8):
        if paper_like:
            bnb = base - (0.08 if n in (3, 4, 5) else 0.0)
            anb = base + 0.02 if n <= 2 else base - 0.03 * (n - 1)
            anb_ft, bnb_ft = base + 0.05, base + 0.02
        else:
            bnb = base + (0.08 if n in (3, 4, 5) else 0.0)
            anb = base - 0.15 + 0.02 * n
            anb_ft, bnb_ft = base - 0.08, base - 0.15
        add("random_split", "random-0", f"B{n}B-frozen", "selffer", n, bnb)
        add("random_split", "random-0", f"B{n}B-ft", "selffer_ft", n, bnb_ft)
        add("random_split", "random-0", f"A{n}B-frozen", "transfer", n, anb)
        add("random_split", "random-0", f"A{n}B-ft", "transfer_ft", n, anb_ft)
    for tgt, b in (("natural", 0.6), ("man-made", 0.45)):
        add("natman", "natman", f"base{tgt}", "base", 0, b, tgt)
        add("natman", "natman", f"x7{tgt}", "transfer", 7, b - (0.35 if paper_like else -0.05), tgt)
    add("random_weights", "all", "baseA", "base", 0, 0.45, "all")
    for n in range(1, 8):
        add("random_weights", "all", f"R{n}A-frozen", "random", n, (0.05 if paper_like else 0.6), "all")
    return pd.DataFrame(rows), correct


def test_paper_like_results_hold():
    df, correct = table(True)
    t = scorecard(df, correct, n_boot=100).set_index("claim")
    assert (t.verdict == "holds").all(), t[["value", "ci_low", "ci_high", "verdict"]]
    assert (t.ci_low <= t.value).all() and (t.value <= t.ci_high).all()


def test_opposite_results_do_not_hold():
    df, correct = table(False)
    t = scorecard(df, correct, n_boot=100).set_index("claim")
    assert (t.verdict == "does not hold").all(), t[["value", "ci_low", "ci_high", "verdict"]]


def test_tiny_validation_sets_are_inconclusive():
    df, correct = table(True)
    few = {k: v[:12] for k, v in correct.items()}
    df = df.assign(top1=[few[(r.split, 0, r.network)].mean() for r in df.itertuples()])
    t = scorecard(df, few, n_boot=100).set_index("claim")
    assert "inconclusive" in set(t.verdict)


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
