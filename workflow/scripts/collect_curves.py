import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
from transferlab.training import write_curves
from transferlab.run import run

run(snakemake, lambda s: write_curves(list(s.input.meta), s.output[0]))
