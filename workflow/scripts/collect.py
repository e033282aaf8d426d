import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.run import run
from transferlab.training import collect

run(snakemake, lambda s: collect(list(s.input.records), s.output.table, s.output.predictions))
