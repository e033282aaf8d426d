import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from pathlib import Path

from transferlab.data import datasets as data
from transferlab.run import run

run(
    snakemake,
    lambda s: data.write_half(
        Path(s.input.prepared[0]).parent,
        s.input.split,
        s.wildcards.half,
        s.output[0],
        s.params.train_per_class,
        s.params.dev_per_class,
    ),
)
