import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import json
from pathlib import Path

from transferlab import splits
from transferlab.io import atomic_write_json
from transferlab.scripting import run


def main(s):
    if s.params.seed is None:  # the whole class set as one task
        wnids = json.loads(Path(s.input.classes).read_text())["wnids"]
        atomic_write_json(s.output[0], {"A": wnids, "kind": "all"})
    else:
        splits.write_random_split(s.input.classes, s.params.seed, s.output[0])


run(snakemake, main)
