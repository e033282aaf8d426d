import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
import json

from transferlab.cka import measure, val_batches
from transferlab.io import atomic_path
from transferlab.scripting import run


def main(s):
    """CKA of the pairs of one training unit's networks on the prepared validation images."""
    train = json.loads(open(s.input.meta).read())["train"]
    weights = {p[k]: s.input[p[k]] for p in s.params.pairs for k in ("a", "b")}
    batches = val_batches(s.input.prepared[0].rsplit("/", 1)[0], int(train["crop_size"]),
                          train.get("normalize", "channel"), int(s.params.batch_size))
    t = measure(weights, s.params.pairs, batches, threads=s.threads)
    t.insert(0, "replicate", int(s.wildcards.rep))
    t.insert(0, "split", s.wildcards.split)
    t["unit_name"] = [s.params.units[u - 1] for u in t["unit"]]
    with atomic_path(s.output[0]) as tmp:
        t.to_parquet(tmp, index=False)


run(snakemake, main)
