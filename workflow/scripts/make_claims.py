import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.claims import write_claims
from transferlab.scripting import run


def main(s):
    write_claims(pd.read_parquet(s.input.table), pd.read_parquet(s.input.predictions), s.output.csv, s.output.md,
                 s.params.n_boot)


run(snakemake, main)
