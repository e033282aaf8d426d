import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.io import atomic_path
from transferlab.plots import fig_filters
from transferlab.scripting import run
from transferlab.weights import conv1_weights, filter_table


def main(s):
    weights = conv1_weights(pd.read_parquet(s.input.conv1))
    t = filter_table(weights)
    with atomic_path(s.output.table) as tmp:
        t.to_csv(tmp, index=False)
    shares = dict(zip(t.network, t.lowfreq_share_mean))
    k = next(iter(weights.values())).shape[-1]
    fig_filters(weights, s.output.png, shares=shares,
                title=f"conv1 filters, {k} x {k} px, each scaled to its own range, beside a fresh initialisation\n"
                      "filters this small show little structure by eye: the low-frequency share is the measure")


run(snakemake, main)
