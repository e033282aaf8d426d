import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.data import splits
from transferlab.run import run


def main(s):
    if s.params.seed is None:  # the whole class set as one task
        splits.write_whole_split(s.input.classes, s.output[0])
    else:
        splits.write_random_split(s.input.classes, s.params.seed, s.output[0])


run(snakemake, main)
