import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.claims import write_claims
from transferlab.scripting import run


def main(s):
    cka = pd.read_parquet(s.input.cka) if "cka" in s.input.keys() else None
    write_claims(pd.read_parquet(s.input.table), pd.read_parquet(s.input.predictions), s.output.csv, s.output.md,
                 s.params.n_boot, cka=cka)


run(snakemake, main)
