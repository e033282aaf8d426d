import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.run import run
from transferlab.training import write_curves

run(snakemake, lambda s: write_curves(list(s.input.meta), s.output[0]))
