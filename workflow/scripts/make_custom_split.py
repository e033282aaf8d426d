import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.data import splits
from transferlab.run import run

run(snakemake, lambda s: splits.write_custom_split(s.input.classes, s.params.name, s.input.user_split, s.output[0]))
