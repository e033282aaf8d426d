"""conv1 weights as a table (conv1.parquet) and back; the filter numbers and figure drawn from it alone."""

import runpy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from workflow_helpers import REPO

from transferlab.analysis.plots import fig_filters
from transferlab.analysis.weights import conv1_table, conv1_weights, filter_table, first_conv, lowfreq_share
from transferlab.io import save_torch
from transferlab.nets.caffenet import CaffeNet, make_arch

ARCH = {
    "widths": [24, 48, 64, 64, 48, 512, 512],
    "conv1_kernel": 5,
    "conv1_stride": 2,
    "input_size": 32,
    "num_classes": 20,
    "init": "kaiming",
}


def test_conv1_table_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    weights = {
        "baseB": rng.normal(size=(6, 3, 5, 5)),
        "baseA": rng.normal(size=(6, 3, 5, 5)),
        "fresh init": rng.normal(size=(4, 3, 3, 3)),
    }
    t = conv1_table(weights)
    assert list(t.columns) == ["network", "filter", "channel", "row", "col", "weight"]
    assert len(t) == 2 * 6 * 3 * 25 + 4 * 3 * 9
    t.sample(frac=1, random_state=0).to_parquet(tmp_path / "conv1.parquet")  # row order does not matter
    back = conv1_weights(pd.read_parquet(tmp_path / "conv1.parquet").sort_values("network", kind="stable"))
    assert set(back) == set(weights)
    for name, w in weights.items():
        np.testing.assert_array_equal(back[name], w.astype(np.float32))


def test_filters_from_the_table_match_the_checkpoint(tmp_path):
    """The numbers plot_filters writes from conv1.parquet equal those computed from the network itself."""
    torch.manual_seed(0)
    sd = CaffeNet(ARCH).state_dict()
    from_net = lowfreq_share(first_conv(sd).numpy())
    weights = conv1_weights(conv1_table({"baseA": first_conv(sd).numpy()}))
    np.testing.assert_allclose(lowfreq_share(weights["baseA"]), from_net)
    t = filter_table(weights)
    assert t.loc[0, "filters"] == 24 and 0 < t.loc[0, "lowfreq_share_mean"] < 1
    fig_filters(weights, tmp_path / "filters.png", title="t", shares={"baseA": 0.5})
    assert (tmp_path / "filters.png").read_bytes()[:4] == b"\x89PNG"


class Named(list):
    """A list with named items, like Snakemake's input and output."""

    def __init__(self, **named):
        super().__init__(named.values())
        self.__dict__.update(named)


def run_script(monkeypatch, name, **fields):
    """Run workflow/scripts/<name>.py as Snakemake does, with the scripts folder on sys.path."""
    scripts = REPO / "workflow" / "scripts"
    monkeypatch.syspath_prepend(str(scripts))
    snakemake = SimpleNamespace(log=[], rule=name, scriptdir=str(scripts), **fields)
    runpy.run_path(str(scripts / f"{name}.py"), init_globals={"snakemake": snakemake})


def test_collect_conv1_then_plot_filters_without_the_networks(tmp_path, monkeypatch):
    bases = []
    for half in "AB":
        torch.manual_seed(ord(half))
        bases.append(tmp_path / f"nets/random-0/r0/base{half}/weights.pt")
        bases[-1].parent.mkdir(parents=True)
        save_torch({"arch": make_arch(**ARCH), "state_dict": CaffeNet(ARCH).state_dict()}, bases[-1])
    conv1 = tmp_path / "conv1.parquet"
    run_script(monkeypatch, "collect_conv1", input=Named(bases=[str(b) for b in bases]), output=Named(t=str(conv1)))
    assert list(pd.read_parquet(conv1).network.unique()) == ["baseA", "baseB", "fresh init"]
    for b in bases:  # plot_filters reads the table alone
        b.unlink()
    out = Named(png=str(tmp_path / "filters.png"), table=str(tmp_path / "filters.csv"))
    run_script(monkeypatch, "plot_filters", input=Named(conv1=str(conv1)), output=out)
    t = pd.read_csv(out.table)
    assert list(t.network) == ["baseA", "baseB", "fresh init"] and t.lowfreq_share_mean.between(0, 1).all()
    assert (tmp_path / "filters.png").stat().st_size > 5_000
