import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import fig_curves
from transferlab.run import run

run(snakemake, lambda s: fig_curves(pd.read_parquet(s.input.curves), s.output[0]))
