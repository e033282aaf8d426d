import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import json
from pathlib import Path

from transferlab.data import datasets as data
from transferlab.data import identity
from transferlab.run import run


def main(s):
    d = s.params.data
    wnids = json.loads(Path(s.input.classes).read_text())["wnids"]
    data.prepare_arrays(
        s.params.dataset,
        identity.checked_source(s.params.dataset, s.config, s.params.identity),
        wnids,
        Path(s.output[0]).parent,
        d["image_size"],
        d["train_per_class"],
        d["val_per_class"],
        threads=s.threads,
        identity=s.params.identity,
        cache=s.config["prepared_cache"],  # how the arrays are stored, not what they are: not a param
    )


run(snakemake, main)
