import pandas as pd

from transferlab.claims import write_claims
from transferlab.scripting import run

run(snakemake, lambda s: write_claims(pd.read_parquet(s.input.table), pd.read_parquet(s.input.predictions),
                                      s.output.csv, s.output.md, s.params.n_boot))
