import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from pathlib import Path

from transferlab.analysis import measure_split
from transferlab.run import run
from transferlab.training.devices import granted_threads

run(
    snakemake,
    lambda s: measure_split(
        weights={p[k]: s.input[p[k]] for p in s.params.pairs for k in ("a", "b")},
        pairs=s.params.pairs,
        prepared_dir=Path(s.input.prepared[0]).parent,
        meta_file=s.input.meta,
        batch_size=s.params.batch_size,
        units=s.params.units,
        split=s.wildcards.split,
        replicate=s.wildcards.rep,
        out=s.output[0],
        threads=granted_threads(s.threads),
        device=s.params.device,
    ),
)
