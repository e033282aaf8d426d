import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import weight_change
from transferlab.io import load_torch
from transferlab.report import write_csv
from transferlab.run import run


def main(s):
    frames = []
    for name in ("transfer", "selffer"):
        t = weight_change(
            load_torch(s.input[f"{name}_base"])["state_dict"],
            load_torch(s.input[f"{name}_ft"])["state_dict"],
            s.params.n,
        )
        t.insert(0, "network", s.input[f"{name}_ft"].split("/")[-2])
        frames.append(t)
    write_csv(pd.concat(frames), s.output.csv)


run(snakemake, main)
