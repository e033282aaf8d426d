import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import conv1_weights, fig_filters, filter_table
from transferlab.report import write_csv
from transferlab.run import run


def main(s):
    weights = conv1_weights(pd.read_parquet(s.input.conv1))
    t = filter_table(weights)
    write_csv(t, s.output.table)
    shares = dict(zip(t.network, t.lowfreq_share_mean, strict=True))
    k = next(iter(weights.values())).shape[-1]
    fig_filters(
        weights,
        s.output.png,
        shares=shares,
        title=f"conv1 filters, {k} x {k} px, each scaled to its own range, beside a fresh initialisation\n"
        "filters this small show little structure by eye: the low-frequency share is the measure",
    )


run(snakemake, main)
