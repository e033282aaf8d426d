import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

import json
from pathlib import Path

from transferlab.data import datasets as data
from transferlab.data import identity
from transferlab.run import run
from transferlab.training.devices import granted_threads


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
        threads=granted_threads(s.threads),
        identity=s.params.identity,
        cache=s.config["prepared_cache"],  # where the arrays are kept, not what they are: not a param
        image_format=d.get("format", "uint8"),
        jpeg_quality=d.get("jpeg_quality", 90),
    )


run(snakemake, main)
