import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import pandas as pd

from transferlab.analysis import fig2
from transferlab.run import run

run(snakemake, lambda s: fig2(pd.read_parquet(s.input.table), s.output.png, s.output.pdf, s.params.title))
