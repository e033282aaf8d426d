import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import yaml

from transferlab.io import atomic_write_text, code_revision
from transferlab.run import run

run(
    snakemake,
    lambda s: atomic_write_text(
        s.output[0], f"# code revision: {code_revision()}\n" + yaml.safe_dump(dict(s.params.config), sort_keys=False)
    ),
)
