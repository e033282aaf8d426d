import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.training import preflight
from transferlab.run import run

run(snakemake, lambda s: preflight(out=s.output[0], device=s.params.device, compile_requested=s.params.compile))
