import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from pathlib import Path

import torch

from transferlab.analysis import conv1_table, first_conv
from transferlab.io import load_torch
from transferlab.nets import build_model
from transferlab.report import write_parquet
from transferlab.run import run


def main(s):
    """conv1 weights of the inspected bases and of a fresh initialisation (seed 0) into one small table."""
    cks = {Path(p).parent.name: load_torch(p) for p in s.input.bases}
    weights = {name: first_conv(ck["state_dict"]).numpy() for name, ck in cks.items()}
    torch.manual_seed(0)
    weights["fresh init"] = first_conv(build_model(next(iter(cks.values()))["arch"]).state_dict()).numpy()
    write_parquet(conv1_table(weights), s.output[0])


run(snakemake, main)
