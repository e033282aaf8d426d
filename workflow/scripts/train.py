import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from pathlib import Path

from transferlab.run import run
from transferlab.schema import without_effect
from transferlab.training import time_budget_from_runtime, train_network
from transferlab.training.devices import granted_threads


def main(s):
    return train_network(
        net=s.params.net,
        prepared_dir=Path(s.input.prepared[0]).parent,
        half_file=s.input.half,
        out_weights=s.output.weights,
        out_meta=s.output.meta,
        state_dir=s.params.state,
        arch=s.params.settings["arch"],
        # how the job runs (loader workers, checkpoint cadence) comes from the config, not the params: a change
        # of it reruns nothing
        train_cfg={**s.params.settings["train"], **{k: s.config["train"][k] for k in without_effect("train")}},
        seed=s.params.seed,
        base_weights=s.input.get("base") or None,
        threads=granted_threads(s.threads),
        device=s.params.device,
        provenance={"config_hash": s.params.config_hash, "rule": s.rule},
        time_budget_s=time_budget_from_runtime(s.resources.get("runtime")),
        preflight=s.input.get("preflight"),
        stage_dir=s.config["stage_dir"] or None,  # where a job reads the images, not what they are: not a param
    )


run(snakemake, main)
