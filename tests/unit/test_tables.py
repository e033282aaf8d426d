"""Table 1 arithmetic and the figures, from hand-made results tables."""

import pandas as pd
import pytest
from conftest import md_rows

from transferlab.analysis.pairing import base_level, paired, paired_means
from transferlab.analysis.plots import fig2, fig3, fig3_frames, fig_dataset_size, fig_reference
from transferlab.analysis.tables import published_bases, published_means, table1, to_markdown
from transferlab.errors import PairingError
from transferlab.training.evaluate import COLUMNS


def row(experiment, treatment, n, top1, target="B", base_task=None, split="random-0", rep=0, k=300, points=7):
    return {
        "dataset": "x",
        "architecture": "caffenet",
        "transfer_points": points,
        "experiment": experiment,
        "split": split,
        "replicate": rep,
        "network": "?",
        "treatment": treatment,
        "base_task": base_task or target,
        "target_task": target,
        "n": n,
        "fine_tuned": treatment.endswith("_ft"),
        "top1": top1,
        "top5": min(1.0, top1 + 0.2),
        "dev_top1": top1,
        "val_loss": 1.0,
        "n_val": 100,
        "n_train": 10 * k,
        "n_classes": 10,
        "train_per_class": k,
        "epochs": 1,
        "train_seconds": 1.0,
        "device": "cpu",
        "seed": 1,
        "config_hash": "h",
        "code_revision": "r",
    }


@pytest.fixture
def results():
    rows = [row("random_split", "base", 0, 0.50), row("random_split", "base", 0, 0.60, target="A")]
    for n in range(1, 8):
        rows += [
            row("random_split", "selffer", n, 0.50 - 0.01 * (n in (3, 4, 5))),
            row("random_split", "selffer_ft", n, 0.50 + 0.01 * n),
            row("random_split", "transfer", n, 0.50 - 0.02 * n, base_task="A"),
            row("random_split", "transfer_ft", n, 0.52 + 0.01 * n, base_task="A"),
        ]
    rows += [
        row("natman", "base", 0, 0.7, target="natural", split="natman"),
        row("natman", "base", 0, 0.4, target="man-made", split="natman"),
    ]
    for n in range(1, 8):
        rows += [
            row("natman", "transfer", n, 0.7 - 0.03 * n, target="natural", base_task="man-made", split="natman"),
            row("natman", "transfer", n, 0.4 - 0.03 * n, target="man-made", base_task="natural", split="natman"),
        ]
    rows += [row("random_weights", "base", 0, 0.45, target="all", split="all")]
    rows += [
        row("random_weights", "random", n, 0.45 - 0.05 * n, target="all", base_task="random", split="all")
        for n in range(1, 8)
    ]
    rows += [row("dataset_size", "base", 0, 0.1 * k / 50, target="all", split=f"all-k{k}", k=k) for k in (50, 100, 200)]
    df = pd.DataFrame(rows)
    for c, t in COLUMNS.items():
        df[c] = df[c].astype(t)
    return df


def test_table1_arithmetic(results):
    t = table1(results).set_index("layers")
    # AnB+ - base = 0.02 + 0.01 n, averaged over n
    assert t.loc["1-7", "boost_over_base"] == pytest.approx(0.02 + 0.04)
    assert t.loc["3-7", "boost_over_base"] == pytest.approx(0.02 + 0.05)
    assert t.loc["5-7", "boost_over_base"] == pytest.approx(0.02 + 0.06)
    # AnB+ - BnB+ = 0.02 at every n
    assert t["boost_over_selffer_ft"].tolist() == pytest.approx([0.02] * 3)
    assert t.loc["1-7", "networks"] == 7
    md = to_markdown(t.reset_index())
    # the paper's columns: the same statistic on the authors' released networks (their AnB+ and BnB+ target
    # different halves, so over BnB+ goes through each net's own base)
    assert ["1-7", "+6.00 pt", "+2.00 pt", "7", "1", "+0.98 pt", "+0.02 pt"] in md_rows(md)
    assert ["5-7", "+8.00 pt", "+2.00 pt", "3", "1", "+1.19 pt", "+0.19 pt"] in md_rows(md)


def test_table1_needs_fine_tuned_nets(results):
    with pytest.raises(ValueError, match="AnB\\+"):
        table1(results[results.treatment != "transfer_ft"])


def test_fig3_numbers(results):
    fr = fig3_frames(results)
    nat = fr["natman"].set_index(["target_task", "n"])
    assert nat.loc[("natural", 2), "delta"] == pytest.approx(-0.06)
    assert nat.loc[("man-made", 7), "source_task"] == "natural"
    assert fr["random_weights"].set_index("n").loc[3, "delta"] == pytest.approx(-0.15)
    assert fr["random_split"].set_index("n").loc[4, "delta"] == pytest.approx(-0.08)


def test_figures_render(results, tmp_path):
    means = fig2(results, tmp_path / "f2.png", tmp_path / "f2.pdf")
    # n = 0 is baseB (50 %), the only target present, not the mean of baseA and baseB (55 %)
    assert means.set_index(["treatment", "n"]).loc[("base", 0), "top1"] == pytest.approx(0.50)
    assert means.set_index(["treatment", "n"]).loc[("transfer", 7), "top1"] == pytest.approx(0.36)
    fig3(results, tmp_path / "f3.png", tmp_path / "f3.pdf")
    g = fig_dataset_size(results, tmp_path / "ds.png")
    assert g.train_per_class.tolist() == [50, 100, 200, 300]
    for f in ("f2.png", "f2.pdf", "f3.png", "f3.pdf", "ds.png"):
        assert (tmp_path / f).stat().st_size > 5000
    assert not list(tmp_path.glob(".*.tmp"))


def test_fig2_without_random_split_is_a_clear_error(results, tmp_path):
    with pytest.raises(ValueError, match="random_split"):
        fig2(results[results.experiment != "random_split"], tmp_path / "x.png")


def test_reference_tables_ship_with_the_package():
    m = published_means()
    assert set(m.experiment) == {"random-split", "natural-to-man-made", "man-made-to-natural", "random-weights"}
    assert m[
        (m.experiment == "random-split") & (m.treatment == "transfer") & (m.layers == "frozen") & (m.n == 7)
    ].mean_top1.iloc[0] == pytest.approx(0.5419)
    assert len(published_bases()) == 11


def both_directions(results):
    """Add the A-target networks: baseA = 60 %, each derived net 10 points above its B twin."""
    a = results[(results.experiment == "random_split") & (results.treatment != "base")].copy()
    a["target_task"], a["base_task"] = "A", a["base_task"].map({"A": "B", "B": "A"})
    a["top1"] += 0.10
    return pd.concat([results, a], ignore_index=True)


def test_pairing_one_direction_uses_base_b(results):
    p = paired(results[results.experiment == "random_split"])
    assert (p.base_top1 == 0.50).all()
    assert p.set_index(["treatment", "n"]).loc[("transfer", 7), "delta"] == pytest.approx(-0.14)
    assert base_level(results) == pytest.approx(0.50)


def test_pairing_both_directions_each_against_its_own_base(results):
    both = both_directions(results)
    p = paired(both[both.experiment == "random_split"])
    assert set(p[p.target_task == "A"].base_top1) == {0.60} and set(p[p.target_task == "B"].base_top1) == {0.50}
    m = paired_means(both).set_index(["treatment", "n"])
    assert m.loc[("transfer", 7), "delta"] == pytest.approx(-0.14)  # same in both directions
    assert m.loc[("transfer", 7), "units"] == 2
    assert base_level(both) == pytest.approx(0.55)
    assert m.loc[("transfer", 7), "level"] == pytest.approx(0.55 - 0.14)
    t = table1(both).set_index("layers")
    assert t.loc["1-7", "boost_over_base"] == pytest.approx(0.06)
    assert t.loc["1-7", "units"] == 2


def test_reference_panel_is_paired(results, tmp_path):
    from transferlab.analysis.paper import as_results

    both = fig_reference(results, as_results(), tmp_path / "ref.png")
    ours = both[both.source == "this run"].set_index(["treatment", "n"])
    assert ours.loc[("selffer", 3), "delta"] == pytest.approx(-0.01)  # not -0.06 against the mean of both bases
    # the paper's side paired the same way: BnB(5) of its four splits against each one's own base, −2.94 pt
    # (−3.12 against the mean of all 8 bases, the unpaired normalisation this replaced)
    paper = both[both.source != "this run"].set_index(["treatment", "n"])
    assert paper.loc[("selffer", 5), "delta"] == pytest.approx(-0.0294, abs=5e-4)


def test_missing_base_is_a_clear_error(results):
    with pytest.raises(PairingError, match="no base"):
        paired(results[~((results.experiment == "random_split") & (results.treatment == "base"))])


def test_table1_both_directions_and_replicates_by_hand():
    """Two directions x two replicates with network-level noise: each AnB+ against its own unit's base and BnB+."""
    import numpy as np

    rng = np.random.default_rng(5)
    rows, base, self_ft, tr_ft = [], {}, {}, {}
    for rep in (0, 1):
        for tgt, b in (("B", 0.50), ("A", 0.60)):
            src = "A" if tgt == "B" else "B"
            base[(rep, tgt)] = b + rng.normal(0, 0.02)
            rows.append(row("random_split", "base", 0, base[(rep, tgt)], target=tgt, rep=rep))
            for n in range(1, 8):
                self_ft[(rep, tgt, n)] = base[(rep, tgt)] + rng.normal(0.01, 0.02)
                tr_ft[(rep, tgt, n)] = base[(rep, tgt)] + rng.normal(0.03, 0.02)
                rows += [
                    row("random_split", "selffer_ft", n, self_ft[(rep, tgt, n)], target=tgt, rep=rep),
                    row("random_split", "transfer_ft", n, tr_ft[(rep, tgt, n)], target=tgt, base_task=src, rep=rep),
                ]
    df = pd.DataFrame(rows)
    t = table1(df).set_index("layers")
    for name, ns in (("1-7", range(1, 8)), ("3-7", range(3, 8)), ("5-7", range(5, 8))):
        keys = [(rep, tgt, n) for rep in (0, 1) for tgt in "AB" for n in ns]
        assert t.loc[name, "boost_over_base"] == pytest.approx(
            np.mean([tr_ft[k] - base[k[:2]] for k in keys]), abs=1e-12
        )
        assert t.loc[name, "boost_over_selffer_ft"] == pytest.approx(
            np.mean([tr_ft[k] - self_ft[k] for k in keys]), abs=1e-12
        )
        assert t.loc[name, "networks"] == len(keys) and t.loc[name, "units"] == 4


def plateau(results):
    """The fixture with BnB+ at n = 7 equal to its base: no restart gain."""
    df = results.copy()
    df.loc[(df.treatment == "selffer_ft") & (df.n == 7), "top1"] = 0.50
    return df


def test_table1_markdown_header_and_caption(results):
    text = to_markdown(table1(plateau(results)))
    md = text.splitlines()
    assert md_rows(text)[0] == [
        "layers aggregated",
        "AnB+ − own base (paired)",
        "AnB+ − BnB+ (paired)",
        "networks",
        "units",
        "paper's networks, same statistic: over base",
        "paper's networks: over BnB+",
    ]
    assert set(md[1]) <= set("|:-") and len(md) == 7 and md[5] == ""
    assert md[6].startswith("Our columns: each AnB+ network minus the base of its own split") and md[6].endswith(
        "mean of all 8 bases, unpaired.)"
    )


def test_table1_says_over_base_is_confounded_when_the_restart_gains(results):
    """BnB+ at the deepest n 3 points above its base: 'over base' measures extra training, and says so."""
    df = plateau(results)
    assert "confounded" not in to_markdown(table1(df))
    df.loc[(df.treatment == "selffer_ft") & (df.n == 7), "top1"] = 0.53
    t = table1(df)
    assert t.restart_gain.iloc[0] == pytest.approx(0.03)
    assert "**Over base is confounded here:**" in to_markdown(t)


def test_figure_intervals_are_the_scorecards(results):
    """The bars of Figure 2's lower panel and Figure 3: Student-t over training units, the units of one
    split as they are, split means when there are two or more splits (as the scorecard clusters them)."""
    import numpy as np

    from transferlab.analysis.plots import delta_intervals
    from transferlab.analysis.stats import unit_interval

    rs = results[results.experiment == "random_split"]
    extra = []
    for split, shift in (("random-1", 0.03), ("random-2", -0.05)):  # two more splits, each with target B
        s = rs[(rs.target_task == "B") & ~((rs.treatment == "base") & (rs.target_task == "A"))].copy()
        s["split"] = split
        s.loc[s.treatment == "transfer", "top1"] += shift
        extra.append(s)
    one = delta_intervals(paired(rs)).set_index(["treatment", "n"])
    assert one.loc[("transfer", 7)].isna().all()  # one unit per (treatment, n): no interval
    three = paired(pd.concat([rs[rs.target_task == "B"]] + extra, ignore_index=True))
    iv = delta_intervals(three).set_index(["treatment", "n"])
    want = unit_interval([three[(three.treatment == "transfer") & (three.n == 7)].groupby("split").delta.mean()])
    assert iv.loc[("transfer", 7), "low"] == pytest.approx(want.low) and np.isfinite(want.low)
    assert iv.loc[("transfer", 7), "high"] == pytest.approx(want.high)
    # a second replicate of split random-1 does not count as a unit of its own
    rep = extra[0].copy()
    rep["replicate"] = 1
    four = paired(pd.concat([rs[rs.target_task == "B"], *extra, rep], ignore_index=True))
    iv4 = delta_intervals(four).set_index(["treatment", "n"])
    assert iv4.loc[("transfer", 7), "high"] - iv4.loc[("transfer", 7), "low"] == pytest.approx(
        iv.loc[("transfer", 7), "high"] - iv.loc[("transfer", 7), "low"]
    )
