import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import fig_dataset_size
from transferlab.run import run

run(snakemake, lambda s: fig_dataset_size(pd.read_parquet(s.input.table), s.output.png, s.output.pdf, s.params.title))
