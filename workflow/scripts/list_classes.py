import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.data import datasets as data
from transferlab.data import identity
from transferlab.run import run


def main(s):
    path = identity.checked_source(s.params.dataset, s.config, s.params.identity)
    data.write_class_list(s.params.dataset, path, s.params.n_classes, s.params.seed, s.output[0], s.params.identity)


run(snakemake, main)
