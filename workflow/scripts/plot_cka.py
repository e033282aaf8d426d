import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import cka_figure, cka_summary, transfer_deltas
from transferlab.report import write_csv
from transferlab.run import run


def main(s):
    cka = pd.read_parquet(s.input.cka)
    deltas = transfer_deltas(pd.read_parquet(s.input.table))
    cka_figure(cka, deltas, s.output.png, s.output.pdf, s.params.title)
    write_csv(cka_summary(cka, deltas), s.output.csv)


run(snakemake, main)
