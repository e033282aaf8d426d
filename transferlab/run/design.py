"""The study a config describes: which networks it trains, what each one is, and what it writes.
The workflow (``workflow/rules/common.smk``) holds one :class:`Design` and turns its answers into paths; the
answers themselves live here, where they are tested without Snakemake.  Network names are built and read by
:mod:`transferlab.names`, split names by :mod:`transferlab.data.splits`.

The detail: docs/library.md, `transferlab/run/design.py`."""

from __future__ import annotations

import re
import zlib

from transferlab.data import splits
from transferlab.names import RANDOM_SOURCE, base_name, net_name, parse_net
from transferlab.nets.models import arch_from_config, unit_names
from transferlab.schema import without_effect

TASK_NAMES = {splits.NATMAN: {"A": "natural", "B": "man-made"}}
SPLIT_EXPERIMENTS = {
    splits.RANDOM: "random_split",
    splits.NATMAN: "natman",
    splits.WHOLE: "random_weights",
    "dataset_size": "dataset_size",
}
ARCH_TITLES = {"caffenet": "CaffeNet", "resnet": "ResNet"}


def results_folder(config: dict) -> str:
    """``results/<run>``; without a run name ``results/<dataset>`` (CaffeNet) or ``results/<dataset>-<arch>``."""
    if config.get("run"):
        return f"results/{config['run']}"
    arch = config["model"]["architecture"]
    return f"results/{config['dataset']}" + ("" if arch == "caffenet" else f"-{arch}")


class Design:
    """The networks and outputs of one (validated) config."""

    def __init__(self, config: dict):
        self.config = config
        self.arch = arch_from_config(config["model"])
        self.units = unit_names(self.arch)  # the first n "layers" are the first n units; the last is always new
        self.transfer_points = list(range(1, len(self.units)))
        self.dataset = config["dataset"]
        self.architecture = config["model"]["architecture"]
        self.results = results_folder(config)
        # what every figure's title names, so that a CaffeNet and a ResNet run can be told apart
        self.title = f"{self.dataset} · {ARCH_TITLES.get(self.architecture, self.architecture)}"
        self.experiments = config["experiments"]
        self.custom_splits = dict(config["splits"])  # the user's own A/B halves: split name -> JSON file

    def enabled(self, experiment: str) -> bool:
        return bool(self.experiments[experiment]["enabled"])

    # ------------------------------------------------------------------------------- splits and tasks
    def replicates_of(self, experiment: str) -> list[int]:
        """Training seeds of an experiment: its own ``replicates`` if set, else the global one."""
        own = self.experiments.get(experiment, {}).get("replicates")
        return list(range(int(own or self.config["replicates"])))

    def experiment_of(self, split: str) -> str:
        if split in self.custom_splits:
            return "custom_split"
        return SPLIT_EXPERIMENTS[splits.split_kind(split)]

    def task_name(self, split: str, half: str) -> str:
        """What a half of a split is called in the results table (``natural``, ``B``, ``all``, ``random``)."""
        if half == RANDOM_SOURCE:
            return "random"
        if self.experiment_of(split) in ("random_weights", "dataset_size"):
            return "all"
        return TASK_NAMES.get(split, {}).get(half, half)

    split_file_of = staticmethod(splits.split_file_of)
    train_per_class_of = staticmethod(splits.train_per_class_of)

    def first_random_split(self) -> str:
        return splits.random_split_name(self.experiments["random_split"]["seeds"][0])

    def split_pattern(self) -> str:
        """The split wildcard: the workflow's own splits and the user's (whose names cannot collide with them)."""
        return "|".join([*splits.SPLIT_PATTERNS, *map(re.escape, self.custom_splits)])

    def custom_split_pattern(self) -> str:
        return "|".join(map(re.escape, self.custom_splits)) or r"(?!)"  # (?!) matches nothing: no user splits

    # ------------------------------------------------------------------------------- networks
    def random_split_nets(self) -> list[str]:
        e = self.experiments["random_split"]
        targets = ["B", "A"] if e["both_directions"] else ["B"]
        nets = set()
        for target in targets:
            source = "A" if target == "B" else "B"
            nets.add(base_name(target))
            if source == "A" or e["both_directions"]:
                nets.add(base_name(source))
            for n in e["layers"]:
                for s in (target, source):
                    nets.add(net_name(s, n, target, fine_tuned=False))
                    if e["fine_tune"]:
                        nets.add(net_name(s, n, target, fine_tuned=True))
        return sorted(nets)

    def natman_nets(self) -> list[str]:
        """Both bases and AnB, BnA (frozen; fine-tuned too with fine_tune): the natural/man-made design, which
        the user's own splits share, with its layers and fine_tune."""
        e = self.experiments["natman"]
        nets = [base_name("A"), base_name("B")]
        for n in e["layers"]:
            for s, t in (("A", "B"), ("B", "A")):
                nets.append(net_name(s, n, t, fine_tuned=False))
                if e["fine_tune"]:
                    nets.append(net_name(s, n, t, fine_tuned=True))
        return nets

    def random_weight_nets(self) -> list[str]:
        return [base_name("A")] + [
            net_name(RANDOM_SOURCE, n, "A", fine_tuned=False) for n in self.experiments["random_weights"]["layers"]
        ]

    def networks(self) -> list[tuple[str, str, int]]:
        """(split, net, replicate) of every network in the design."""
        pairs = []
        if self.enabled("random_split"):
            for seed in self.experiments["random_split"]["seeds"]:
                pairs += [(splits.random_split_name(seed), net) for net in self.random_split_nets()]
        if self.enabled("natman"):
            pairs += [(splits.NATMAN, net) for net in self.natman_nets()]
        for name in self.custom_splits:
            pairs += [(name, net) for net in self.natman_nets()]
        if self.enabled("random_weights"):
            pairs += [(splits.WHOLE, net) for net in self.random_weight_nets()]
        if self.enabled("dataset_size"):
            pairs += [
                (splits.dataset_size_split_name(k), base_name("A"))
                for k in self.experiments["dataset_size"]["images_per_class"]
            ]
        return [(split, net, rep) for split, net in pairs for rep in self.replicates_of(self.experiment_of(split))]

    @staticmethod
    def target_of(net: str) -> str:
        """The half a network trains on and is scored on (``A10B-frozen``: B)."""
        return parse_net(net).target

    @staticmethod
    def base_of(net: str) -> str | None:
        """The base a derived net copies from (``A3B-ft``: baseA); None for bases and random sources."""
        return parse_net(net).base

    @staticmethod
    def seed_of(split: str, net: str, replicate: int) -> int:
        """A network's training seed: fixed by its split, name and replicate."""
        return int(zlib.crc32(f"{split}/{net}/r{replicate}".encode()))

    def eval_record(self, split: str, net: str, replicate: int) -> dict:
        """The columns of a network's row in evaluation.parquet that the design, not the network, knows."""
        spec = parse_net(net)
        source = spec.target if spec.is_base else spec.source
        return {
            "dataset": self.dataset,
            "experiment": self.experiment_of(split),
            "split": split,
            "replicate": int(replicate),
            "base_task": self.task_name(split, source),
            "target_task": self.task_name(split, spec.target),
            "train_per_class": self.train_per_class_of(split) or int(self.config["data"]["train_per_class"]),
            "architecture": self.architecture,
            "transfer_points": len(self.transfer_points),
        }

    def train_settings(self, split: str | None = None) -> dict:
        """Settings that define a training run (a change reruns exactly the training jobs); the dataset-size
        networks (``split`` all-k<k>) train for the full set's iteration count."""
        no_effect = without_effect("train")  # loader workers, checkpoint cadence: how a job runs, not what it makes
        settings = {"arch": self.arch, "train": {k: v for k, v in self.config["train"].items() if k not in no_effect}}
        if split and splits.train_per_class_of(split):
            settings["train"]["iterations_of_full_set"] = True
        return settings

    def data_params(self) -> dict:
        d = self.config["data"]
        params = {k: d[k] for k in ("classes", "class_seed", "image_size", "train_per_class", "val_per_class")}
        if d.get("format", "uint8") != "uint8":  # uint8 runs keep the params (and so the results) they had
            params.update(format=d["format"], jpeg_quality=d["jpeg_quality"])
        return params

    def result_data_params(self) -> dict:
        """Every data setting that changes a finished network (the preparation's, and the dev slice's)."""
        return {**self.data_params(), "dev_per_class": self.config["data"]["dev_per_class"]}

    # ------------------------------------------------------------------------------- what the layers share
    def cka_measured(self) -> bool:
        return self.enabled("random_split") and bool(self.config["cka"]["enabled"])

    def cka_nets(self) -> list[str]:
        """Networks whose representations are compared: both bases, and the fine-tuned derived nets."""
        return [n for n in self.random_split_nets() if parse_net(n).is_base or parse_net(n).fine_tuned]

    def cka_runs(self) -> list[tuple[str, int]]:
        """(split, replicate) of every CKA measurement."""
        return [
            (splits.random_split_name(seed), rep)
            for seed in self.experiments["random_split"]["seeds"]
            for rep in self.replicates_of("random_split")
        ]

    def cka_pairs(self) -> list[dict]:
        """baseA against baseB at every transfer unit; each fine-tuned net against the base it copied, at the
        units it copied (1..n)."""
        a, b = base_name("A"), base_name("B")
        pairs = [
            {
                "kind": "bases",
                "a": a,
                "b": b,
                "net": f"{a}~{b}",
                "treatment": "bases",
                "n": 0,
                "units": self.transfer_points,
            }
        ]
        for net in self.cka_nets():
            spec = parse_net(net)
            if spec.fine_tuned and not spec.is_base:
                pairs.append(
                    {
                        "kind": "base_vs_ft",
                        "a": spec.base,
                        "b": net,
                        "net": net,
                        "treatment": spec.treatment,
                        "n": spec.n,
                        "units": list(range(1, spec.n + 1)),
                    }
                )
        return pairs

    def weight_change_measured(self) -> bool:
        e = self.experiments["random_split"]
        return e["enabled"] and e["fine_tune"] and self.config["inspect_n"] in e["layers"]

    # ------------------------------------------------------------------------------- outputs
    def result_tables(self) -> list[str]:
        """The tables the networks are measured into; every figure is drawn from these alone."""
        res = self.results
        out = [f"{res}/evaluation.parquet", f"{res}/predictions.parquet", f"{res}/curves.parquet"]
        if self.enabled("random_split"):
            out.append(f"{res}/conv1.parquet")
        if self.cka_measured():
            out.append(f"{res}/cka.parquet")
        return out

    def figure_outputs(self) -> list[str]:
        """What `snakemake figures` redraws from result_tables(): figures, derived tables, the scorecard."""
        res = self.results
        out = [
            f"{res}/claims.csv",
            f"{res}/claims.md",
            f"{res}/figures/claims.png",
            f"{res}/tables/convergence.csv",
            f"{res}/tables/convergence.md",
        ]
        if self.enabled("random_split"):
            out += [f"{res}/figures/{name}" for name in ("fig2.png", "fig2.pdf", "curves.png", "filters.png")]
            out += [f"{res}/tables/filters.csv", f"{res}/figures/reference.png"]
            if self.experiments["random_split"]["fine_tune"]:
                out += [f"{res}/tables/table1.csv", f"{res}/tables/table1.md"]
        if self.cka_measured():
            out += [f"{res}/figures/cka.png", f"{res}/figures/cka.pdf", f"{res}/tables/cka.csv"]
        if self.enabled("natman") or self.enabled("random_weights") or self.custom_splits:
            out += [f"{res}/figures/fig3.png", f"{res}/figures/fig3.pdf"]
        if self.enabled("dataset_size"):
            out += [f"{res}/figures/dataset_size.png", f"{res}/figures/dataset_size.pdf"]
        return out

    def all_outputs(self) -> list[str]:
        out = self.result_tables() + self.figure_outputs() + [f"{self.results}/config_used.yaml"]
        if self.weight_change_measured():
            out.append(f"{self.results}/tables/weight_change.csv")
        return out
