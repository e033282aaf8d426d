import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from pathlib import Path

from transferlab.run import run
from transferlab.training import evaluate_network
from transferlab.training.devices import granted_threads

run(
    snakemake,
    lambda s: evaluate_network(
        weights=s.input.weights,
        meta_file=s.input.meta,
        prepared_dir=Path(s.input.prepared[0]).parent,
        half_file=s.input.half,
        out=s.output[0],
        record=s.params.record,
        threads=granted_threads(s.threads),
        device=s.params.device,
    ),
)
