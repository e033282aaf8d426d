import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import as_results, fig_reference
from transferlab.run import run

run(snakemake, lambda s: fig_reference(pd.read_parquet(s.input.table), as_results(), s.output[0]))
