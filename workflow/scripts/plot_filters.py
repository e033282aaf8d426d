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
    del weights["fresh init"]  # a number in the title, not a panel
    fig_filters(weights, s.output.png, shares=shares,
                title=f"fresh initialisation: low-frequency energy {100 * shares['fresh init']:.0f} %")


run(snakemake, main)
