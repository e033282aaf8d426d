import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import claims_figure, unit_table, write_claims
from transferlab.run import run


def main(s):
    table = pd.read_parquet(s.input.table)
    card = write_claims(table, pd.read_parquet(s.input.predictions), s.output.csv, s.output.md, s.params.n_boot)
    claims_figure(card, unit_table(table), s.output.png)


run(snakemake, main)
