import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.io import atomic_path, load_torch
from transferlab.scripting import run
from transferlab.weights import weight_change


def main(s):
    frames = []
    for name in ("transfer", "selffer"):
        t = weight_change(load_torch(s.input[f"{name}_base"])["state_dict"],
                          load_torch(s.input[f"{name}_ft"])["state_dict"], s.params.n)
        t.insert(0, "network", s.input[f"{name}_ft"].split("/")[-2])
        frames.append(t)
    with atomic_path(s.output.csv) as tmp:
        pd.concat(frames).to_csv(tmp, index=False)


run(snakemake, main)
