import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import write_table1
from transferlab.run import run

run(snakemake, lambda s: write_table1(pd.read_parquet(s.input.table), s.output.csv, s.output.md))
