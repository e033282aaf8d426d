import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.report import write_parquet
from transferlab.run import run


def main(s):
    t = pd.concat([pd.read_parquet(p) for p in s.input.records], ignore_index=True)
    write_parquet(t.sort_values(["split", "replicate", "kind", "net", "unit"]), s.output[0])


run(snakemake, main)
