import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.io import atomic_path
from transferlab.scripting import run


def main(s):
    t = pd.concat([pd.read_parquet(p) for p in s.input.records], ignore_index=True)
    with atomic_path(s.output[0]) as tmp:
        t.sort_values(["split", "replicate", "kind", "net", "unit"]).to_parquet(tmp, index=False)


run(snakemake, main)
