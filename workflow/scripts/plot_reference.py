import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import pandas as pd

from transferlab.plots import fig_reference
from transferlab.scripting import run
from transferlab.tables import published_bases, published_means

run(snakemake, lambda s: fig_reference(pd.read_parquet(s.input.table), published_means(), published_bases(),
                                       s.output[0]))
