"""The pairing rule (transferlab.analysis.pairing): every network against the base of its own training unit, by hand on
a small table; units, Figure 2's base level, paired means, and the errors of an incomplete or mixed table."""

import pandas as pd
import pytest

from transferlab.analysis.pairing import base_level, paired, paired_means, transfer_points, units
from transferlab.errors import PairingError


def _row(split, rep, target, network, treatment, n, top1, experiment="random_split", points=7):
    return {
        "experiment": experiment,
        "split": split,
        "replicate": rep,
        "target_task": target,
        "network": network,
        "treatment": treatment,
        "n": n,
        "top1": top1,
        "transfer_points": points,
    }


def _table():
    return pd.DataFrame(
        [
            _row("random-0", 0, "B", "baseB", "base", 0, 0.50),
            _row("random-0", 0, "B", "A3B-frozen", "transfer", 3, 0.42),
            _row("random-0", 0, "B", "B3B-frozen", "selffer", 3, 0.49),
            _row("random-0", 0, "A", "baseA", "base", 0, 0.60),  # targets nothing: no unit
            _row("random-1", 0, "B", "baseB", "base", 0, 0.40),
            _row("random-1", 0, "B", "A3B-frozen", "transfer", 3, 0.36),
            _row("random-1", 0, "B", "B3B-frozen", "selffer", 3, 0.41),
        ]
    )


def test_each_network_is_compared_with_its_own_units_base():
    p = paired(_table()).set_index(["split", "network"])
    assert p.loc[("random-0", "A3B-frozen"), "base_top1"] == 0.50  # baseB of random-0, not baseA, not the mean
    assert p.loc[("random-1", "A3B-frozen"), "base_top1"] == 0.40
    assert p.loc[("random-0", "A3B-frozen"), "delta"] == pytest.approx(-0.08)
    assert p.loc[("random-1", "B3B-frozen"), "delta"] == pytest.approx(+0.01)
    assert "baseA" not in p.index.get_level_values("network")


def test_units_base_level_and_paired_means():
    t = _table()
    assert units(t, "random_split") == ["random_split|random-0|0|B", "random_split|random-1|0|B"]
    assert base_level(t) == pytest.approx(0.45)  # mean of the two units' baseB; baseA targets nothing
    m = paired_means(t).set_index("treatment")
    assert m.loc["transfer", "delta"] == pytest.approx((-0.08 - 0.04) / 2)
    assert m.loc["transfer", "units"] == 2
    assert m.loc["transfer", "level"] == pytest.approx(0.45 - 0.06)


def test_an_incomplete_or_mixed_table_is_refused():
    t = _table()
    with pytest.raises(PairingError, match="2 networks have no base"):
        paired(t[~((t.split == "random-1") & (t.network == "baseB"))])
    with pytest.raises(PairingError, match="several bases for one training unit"):
        paired(pd.concat([t, t.iloc[[0]]], ignore_index=True))
    assert transfer_points(t) == 7
    with pytest.raises(PairingError, match=r"mixes architectures with \[3, 7\]"):
        transfer_points(pd.concat([t, pd.DataFrame([_row("random-2", 0, "B", "baseB", "base", 0, 0.5, points=3)])]))
