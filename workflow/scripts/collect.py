import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
from transferlab.training import collect
from transferlab.run import run

run(snakemake, lambda s: collect(list(s.input.records), s.output.table, s.output.predictions))
