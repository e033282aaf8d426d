import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
from pathlib import Path

import torch

from transferlab.io import atomic_path, load_torch
from transferlab.models import build_model
from transferlab.scripting import run
from transferlab.weights import conv1_table, first_conv


def main(s):
    """conv1 weights of the inspected bases and of a fresh initialisation (seed 0) into one small table."""
    cks = {Path(p).parent.name: load_torch(p) for p in s.input.bases}
    weights = {name: first_conv(ck["state_dict"]).numpy() for name, ck in cks.items()}
    torch.manual_seed(0)
    weights["fresh init"] = first_conv(build_model(next(iter(cks.values()))["arch"]).state_dict()).numpy()
    with atomic_path(s.output[0]) as tmp:
        conv1_table(weights).to_parquet(tmp, index=False)


run(snakemake, main)
