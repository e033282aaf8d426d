"""The figures of transferlab.analysis.plots, read back from the matplotlib Figure each one saves."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from transferlab.analysis import plots
from transferlab.training.evaluate import COLUMNS


def row(treatment, n, top1, rep=0, base="B"):
    """One network of split random-0, target B, 10 classes, in evaluation.parquet's columns."""
    fixed = dict(dataset="x", architecture="caffenet", experiment="random_split", split="random-0", network="?")
    fixed.update(target_task="B", n_val=100, n_train=1000, n_classes=10, train_per_class=100, val_loss=1.0, epochs=1)
    fixed.update(train_seconds=1.0, device="cpu", seed=1, config_hash="h", code_revision="r", transfer_points=3)
    vary = dict(replicate=rep, treatment=treatment, base_task=base, n=n, fine_tuned=treatment.endswith("_ft"))
    return dict(fixed, **vary, top1=top1, top5=top1, dev_top1=top1)


def table(reps=(0, 1)):
    """A 3-point architecture: per replicate a baseB, BnB(1..3) and AnB(1..3), the AnB falling with n."""
    rows = []
    for r in reps:
        rows.append(row("base", 0, 0.50 + 0.02 * r, rep=r))
        rows += [row("selffer", n, 0.50 - 0.01 * n + 0.02 * r, rep=r) for n in (1, 2, 3)]
        rows += [row("transfer", n, 0.50 - (0.03 + 0.01 * r) * n + 0.02 * r, r, "A") for n in (1, 2, 3)]
    return pd.DataFrame(rows).astype(COLUMNS)


@pytest.fixture
def saved(monkeypatch):
    """The figures handed to plots._save (which still writes and closes them)."""
    figs, real = [], plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, *paths: (figs.append(fig), real(fig, *paths)))
    return figs


def test_fig2_draws_every_network_in_percent_and_the_paired_means_on_the_base(saved, tmp_path):
    df = table()
    plots.fig2(df, tmp_path / "f2.png")
    with Image.open(tmp_path / "f2.png") as im:
        assert im.format == "PNG" and min(im.size) > 100
    top, bot = saved[-1].axes
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["base", "BnB", "AnB"]  # no chance line at 50 %
    for c, t in zip(top.collections, ("base", "selffer", "transfer"), strict=True):
        assert sorted(c.get_offsets()[:, 1]) == pytest.approx(sorted(100 * df[df.treatment == t].top1))
    assert list(bot.get_xticks()) == [0, 1, 2, 3]  # the table's transfer points, not CaffeNet's 7
    level = df[df.treatment == "base"].top1.mean()
    own = df[df.treatment == "base"].set_index("replicate").top1
    t = df[df.treatment == "transfer"]
    want = [level] + [level + (g.top1 - own[g.replicate].to_numpy()).mean() for _, g in t.groupby("n")]
    anb = next(line for line in bot.lines if line.get_label() == "AnB")
    assert list(anb.get_ydata()) == pytest.approx([100 * v for v in want])
    assert len(bot.containers) == 2 and "2 training units" in bot.get_title()  # BnB and AnB bars


def test_fig2_with_one_unit_draws_no_interval(saved, tmp_path):
    plots.fig2(table(reps=(0,)), tmp_path / "f2.png")
    bot = saved[-1].axes[1]
    assert not bot.containers and bot.get_title() == "one training unit: no interval"


def test_fig3_says_which_experiments_did_not_run(saved, tmp_path):
    assert set(plots.fig3(table(), tmp_path / "f3.png")) == {"random_split"}
    texts = [t.get_text() for ax in saved[-1].axes for t in ax.texts]
    assert texts == ["natman experiment not run (nor a split of your own)", "random_weights experiment not run"]


def test_fig_curves_one_panel_per_treatment_one_line_per_network(saved, tmp_path):
    nets = [("baseB", "base", 0), ("B1B", "selffer", 1), ("A1B", "transfer", 1), ("A2B", "transfer", 2)]
    curves = pd.DataFrame(
        [
            dict(split="random-0", network=net, replicate=r, treatment=t, n=n, epoch=e, dev_top1=0.1 * e)
            for net, t, n in nets
            for r in (0, 1)
            for e in (1, 2, 3)
        ]
    )
    with pytest.raises(ValueError, match="no random-split networks"):
        plots.fig_curves(curves.assign(split="all"), tmp_path / "c.png")
    with pytest.raises(ValueError, match="no dev_top1"):
        plots.fig_curves(curves.drop(columns="dev_top1"), tmp_path / "c.png")
    plots.fig_curves(curves, tmp_path / "c.png")
    axes = saved[-1].axes
    drawn = [[line for line in ax.lines if len(line.get_xdata())] for ax in axes]  # not the legend's proxies
    assert [(ax.get_title(), len(d)) for ax, d in zip(axes, drawn, strict=True)] == [
        ("base", 2),
        ("BnB", 2),
        ("AnB", 4),
    ]
    assert max(drawn[0][0].get_ydata()) == pytest.approx(30.0)  # dev top-1 in %
    assert [ax.get_legend() is None for ax in axes] == [True, True, False]  # one legend of n, on the last panel
    assert [t.get_text() for t in axes[-1].get_legend().get_texts()] == ["1", "2"]


def test_chance_line_only_where_the_accuracies_come_near_it():
    fig, ax = plt.subplots()
    df = pd.DataFrame({"n_classes": [20, 20]})  # chance 5 %
    plots.chance_line(ax, df, [60.0, 40.0])
    assert not ax.lines
    plots.chance_line(ax, df, [60.0, 9.0])
    assert [(line.get_ydata()[0], line.get_label()) for line in ax.lines] == [(5.0, "chance (5.0 %)")]
    plt.close(fig)


def test_filter_grid_scales_each_filter_to_its_own_range():
    w = np.stack([np.arange(27.0).reshape(3, 3, 3) * (i + 1) - 50 * i for i in range(5)])
    w[2] = 7.0  # a constant filter must not divide by zero
    grid = plots.filter_grid(w)
    assert grid.shape == (2 * 4 + 1, 3 * 4 + 1, 3)  # 5 filters of 3x3 on a 2 x 3 grid with 1-pixel borders
    patch = grid[5:8, 5:8]  # filter 4: row 1, column 1
    assert patch.min() == 0.0 and patch.max() == 1.0
    assert patch.transpose(2, 0, 1).ravel() == pytest.approx(np.linspace(0, 1, 27), abs=1e-6)  # channels last
    assert np.isfinite(grid).all() and (grid[1:4, 9:12] == 0).all() and (grid[0] == 1).all()


def test_dataset_size_needs_its_experiment():
    with pytest.raises(ValueError, match="dataset_size"):
        plots.dataset_size_frame(table())
