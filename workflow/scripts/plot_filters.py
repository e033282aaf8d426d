from pathlib import Path

from transferlab.io import load_torch
from transferlab.plots import fig_filters
from transferlab.scripting import run

run(snakemake, lambda s: fig_filters({Path(p).parent.name: load_torch(p)["state_dict"] for p in s.input.bases},
                                     s.output[0]))
