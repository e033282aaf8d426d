import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.data import datasets as data
from transferlab.run import run

run(
    snakemake,
    lambda s: data.write_class_list(s.params.dataset, s.input.source, s.params.n_classes, s.params.seed, s.output[0]),
)
