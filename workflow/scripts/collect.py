import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
from transferlab.evaluate import collect
from transferlab.scripting import run

run(snakemake, lambda s: collect(list(s.input.records), s.output.table, s.output.predictions))
