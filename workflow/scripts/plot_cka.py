import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.claims import transfer_deltas
from transferlab.io import atomic_path
from transferlab.plots import cka_figure, cka_summary
from transferlab.scripting import run


def main(s):
    cka = pd.read_parquet(s.input.cka)
    deltas = transfer_deltas(pd.read_parquet(s.input.table))
    cka_figure(cka, deltas, s.output.png, s.output.pdf, s.params.title)
    with atomic_path(s.output.csv) as tmp:
        cka_summary(cka, deltas).to_csv(tmp, index=False)


run(snakemake, main)
