import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import json
from pathlib import Path

import yaml

from transferlab.io import atomic_write_text, code_revision
from transferlab.run import run


def main(s):
    classes = json.loads(Path(s.input.classes).read_text())
    prepared = json.loads(Path(s.input.prepared).read_text())
    used = {  # what the data settings gave on this data (a cap above what a class holds gives what it has)
        "data_identity": prepared.get("identity") or classes.get("identity"),
        "classes": len(classes["wnids"]),
        "images_per_class": prepared.get("images_per_class"),
        "threads_per_job": s.config["threads_per_job"],  # as this record was written (snapshot's time estimates)
    }
    header = (
        f"# code revision: {code_revision()}\n"
        "# The settings that define this run's results (those that change none: paths, loader workers, checkpoint\n"
        "# cadence, retries, are left out), then what they gave on this data (used).\n"
    )
    atomic_write_text(s.output[0], header + yaml.safe_dump({**dict(s.params.config), "used": used}, sort_keys=False))


run(snakemake, main)
