import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import write_convergence
from transferlab.run import run

run(
    snakemake,
    lambda s: write_convergence(
        pd.read_parquet(s.input.curves), pd.read_parquet(s.input.table), s.output.csv, s.output.md
    ),
)
