import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.data import splits
from transferlab.run import run

run(snakemake, lambda s: splits.write_natman_split(s.input.classes, s.output[0]))
