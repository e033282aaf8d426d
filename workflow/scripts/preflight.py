import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.run import run
from transferlab.training import preflight

run(snakemake, lambda s: preflight(out=s.output[0], device=s.params.device, compile_requested=s.params.compile))
