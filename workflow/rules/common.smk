# Config validation, wildcard constraints, and every input/params function.
# Rule files hold rules only.

import os
import re
import sys
import zlib
from pathlib import Path

# transferlab is imported from this repository, installed or not: Snakemake puts the Snakefile's folder on
# sys.path (and the scripts put it there themselves: workflow/scripts/_project.py).
from transferlab.configcheck import validate_config
from transferlab.io import config_hash
from transferlab import data as tdata
from transferlab import splits as tsplits
from transferlab.models import arch_from_config, unit_names

validate_config(config, Path(workflow.basedir, "workflow/schemas/config.schema.yaml"))

# the network as transfer units: "the first n layers" are its first n units, the last is always new
ARCH = arch_from_config(config["model"])
UNITS = unit_names(ARCH)
POINTS = len(UNITS) - 1

DATASET = config["dataset"]
# CaffeNet's results under results/<dataset>, another architecture's beside them: results/<dataset>-<architecture>
RES = f"results/{DATASET}" + (
    "" if config["model"]["architecture"] == "caffenet" else f"-{config['model']['architecture']}"
)
# what every figure's title names: the dataset and the architecture (a CaffeNet and a ResNet run side by side)
ARCH_NAME = {"caffenet": "CaffeNet", "resnet": "ResNet"}.get(
    config["model"]["architecture"], config["model"]["architecture"]
)
FIG_TITLE = f"{DATASET} · {ARCH_NAME}"
LAYERS = list(range(1, POINTS + 1))
EXP = config["experiments"]
CUSTOM = dict(config["splits"])  # the user's own A/B halves: split name -> JSON file


def replicates_of(experiment):
    """Training seeds of an experiment: its own ``replicates`` if set, else the global one."""
    return list(range(int(EXP.get(experiment, {}).get("replicates") or config["replicates"])))


def _check_config():
    for name in ("random_split", "natman", "random_weights"):
        bad = [n for n in EXP[name]["layers"] if n not in LAYERS]
        if bad:
            raise ValueError(
                f"config experiments.{name}.layers: {bad} outside 1..{POINTS}: model.architecture "
                f"{config['model']['architecture']} has {len(UNITS)} transfer units ({', '.join(UNITS)}), and the last "
                "is always new"
            )
    if config["inspect_n"] not in LAYERS:
        raise ValueError(
            f"config inspect_n={config['inspect_n']} is outside 1..{POINTS}, the transfer points of "
            f"model.architecture {config['model']['architecture']}"
        )
    if DATASET == "imagenet" and not config.get("imagenet_root"):
        raise ValueError(
            "config imagenet_root is empty: with dataset=imagenet give the ILSVRC2012 folder, e.g. "
            "snakemake --config dataset=imagenet imagenet_root=/path/to/ILSVRC2012"
        )
    if DATASET == "imagenet" and not os.path.isdir(config["imagenet_root"]):
        raise ValueError(
            f"config imagenet_root={config['imagenet_root']!r} is not a folder; expected ILSVRC2012 in "
            "ImageFolder layout (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG)"
        )
    if DATASET == "imagefolder" and not config.get("imagefolder_root"):
        raise ValueError(
            "config imagefolder_root is empty: with dataset=imagefolder give your image folder, e.g. "
            "snakemake --config dataset=imagefolder imagefolder_root=/path/to/images"
        )
    if DATASET == "imagefolder" and not os.path.isdir(config["imagefolder_root"]):
        raise ValueError(
            f"config imagefolder_root={config['imagefolder_root']!r} is not a folder; expected train/<class>/ and "
            "val/<class>/ image folders"
        )
    crop = config["train"]["crop_size"]
    if crop > config["data"]["image_size"]:
        raise ValueError(f"config train.crop_size={crop} is larger than data.image_size={config['data']['image_size']}")


_check_config()


def selected_classes():
    """The classes the run uses, read off the dataset when Snakemake parses the workflow; None when the
    data is not there yet (Tiny ImageNet still to be downloaded): list_classes then checks in its job."""
    source = dataset_source()
    if not os.path.exists(source):
        return None
    src = tdata.open_source(DATASET, source)
    return tdata.select_classes(src.wnids(), config["data"]["classes"], config["data"]["class_seed"])


def _check_classes():
    """Class-dependent checks (cheap: folder names, or the archive's index): the natural/man-made split
    needs WordNet ids, and the user's splits must cover the selected classes exactly."""
    if DATASET != "imagefolder" and not CUSTOM:
        return
    classes = selected_classes()
    d = config["data"]
    selection = f" (data.classes={d['classes']}, class_seed={d['class_seed']})" if d["classes"] else ""
    for name, path in CUSTOM.items():
        tsplits.check_custom_split(name, path, classes, selection)
    if DATASET == "imagefolder" and EXP["natman"]["enabled"]:
        bad = [c for c in classes if not tdata.is_wnid(c)]
        if bad:
            raise ValueError(
                f"experiments.natman is unavailable for imagefolder_root={config['imagefolder_root']!r}: the "
                f"natural/man-made split reads each class in WordNet, and {len(bad)} class folder(s) are not WordNet "
                f"ids (n + 8 digits), e.g. {bad[:3]}; disable it (experiments.natman.enabled: false) or give your own "
                "A/B halves under splits: (README, 'Your own data')"
            )


def split_names_re():
    """The split wildcard: the workflow's own splits and the user's (whose names cannot collide with them)."""
    return "|".join([r"random-\d+", "natman", "all", r"all-k\d+", *map(re.escape, CUSTOM)])


def custom_names_re():
    return "|".join(map(re.escape, CUSTOM)) or r"(?!)"  # (?!) matches nothing: no user splits


wildcard_constraints:
    dataset=r"[a-z-]+",
    split=split_names_re(),
    half=r"[A-Z]",
    src=r"[A-Z]",
    tgt=r"[A-Z]",
    n=r"[1-9][0-9]?",
    mode=r"frozen|ft",
    rep=r"\d+",
    net=r"base[A-Z]|[A-Z][1-9][0-9]?[A-Z]-(frozen|ft)",


# --------------------------------------------------------------------------- data
def dataset_source():
    """Where the raw dataset is read from (a path; a rule downloads it if needed)."""
    if DATASET == "imagenet":
        return config["imagenet_root"]
    if DATASET == "imagefolder":
        return config["imagefolder_root"]
    user = config.get("tiny_imagenet_path") or os.environ.get("TINY_IMAGENET_PATH", "")
    if user:
        if not os.path.exists(user):
            raise ValueError(
                f"tiny_imagenet_path={user!r} does not exist; expected tiny-imagenet-200.zip or its extracted folder"
            )
        return user
    return "data/raw/tiny-imagenet-200.zip"


_check_classes()


PREPARED = multiext(
    f"{RES}/prepared/",
    "train_images.npy",
    "train_labels.npy",
    "val_images.npy",
    "val_labels.npy",
    "meta.json",
    "mean_image.npy",
)


def data_params():
    d = config["data"]
    return {
        "classes": d["classes"],
        "class_seed": d["class_seed"],
        "image_size": d["image_size"],
        "train_per_class": d["train_per_class"],
        "val_per_class": d["val_per_class"],
    }


# --------------------------------------------------------------------------- splits and networks
def split_file(wildcards):
    base = wildcards.split.split("-k")[0]
    return f"{RES}/splits/{base}.json"


def split_seed(wildcards):
    return int(wildcards.seed)


def half_train_per_class(wildcards):
    return int(wildcards.split.split("-k")[1]) if "-k" in wildcards.split else 0


def custom_split_file(wildcards):
    """The user's JSON file of split ``custom`` (config ``splits``)."""
    return CUSTOM[wildcards.custom]


def experiment_of(split):
    if split in CUSTOM:
        return "custom_split"
    if split.startswith("random-"):
        return "random_split"
    if split == "natman":
        return "natman"
    if split == "all":
        return "random_weights"
    return "dataset_size"


TASK_NAMES = {"natman": {"A": "natural", "B": "man-made"}}


def task_name(split, half):
    if half == "R":
        return "random"
    if experiment_of(split) in ("random_weights", "dataset_size"):
        return "all"
    return TASK_NAMES.get(split, {}).get(half, half)


def random_split_nets():
    e = EXP["random_split"]
    targets = ["B", "A"] if e["both_directions"] else ["B"]
    nets = []
    for tgt in targets:
        src = "A" if tgt == "B" else "B"
        nets.append(f"base{tgt}")
        if src == "A" or e["both_directions"]:
            nets.append(f"base{src}")
        for n in e["layers"]:
            for s in (tgt, src):
                nets.append(f"{s}{n}{tgt}-frozen")
                if e["fine_tune"]:
                    nets.append(f"{s}{n}{tgt}-ft")
    return sorted(set(nets))


def natman_nets():
    """Both bases and AnB, BnA (frozen; fine-tuned too with fine_tune): the design of the natural/man-made
    experiment, which the user's own splits (config ``splits``) share, with its layers and fine_tune."""
    e = EXP["natman"]
    nets = ["baseA", "baseB"]
    for n in e["layers"]:
        for s, t in (("A", "B"), ("B", "A")):
            nets.append(f"{s}{n}{t}-frozen")
            if e["fine_tune"]:
                nets.append(f"{s}{n}{t}-ft")
    return nets


def random_weight_nets():
    return ["baseA"] + [f"R{n}A-frozen" for n in EXP["random_weights"]["layers"]]


def networks():
    """(split, net, replicate) of every network in the design."""
    pairs = []
    if EXP["random_split"]["enabled"]:
        for seed in EXP["random_split"]["seeds"]:
            pairs += [(f"random-{seed}", net) for net in random_split_nets()]
    if EXP["natman"]["enabled"]:
        pairs += [("natman", net) for net in natman_nets()]
    for name in CUSTOM:
        pairs += [(name, net) for net in natman_nets()]
    if EXP["random_weights"]["enabled"]:
        pairs += [("all", net) for net in random_weight_nets()]
    if EXP["dataset_size"]["enabled"]:
        pairs += [(f"all-k{k}", "baseA") for k in EXP["dataset_size"]["images_per_class"]]
    return [(split, net, rep) for split, net in pairs for rep in replicates_of(experiment_of(split))]


def eval_records():
    return [f"{RES}/eval/{split}/r{rep}/{net}.json" for split, net, rep in networks()]


def train_meta_files():
    return [f"{RES}/nets/{split}/r{rep}/{net}/train.json" for split, net, rep in networks()]


def base_weights(wildcards):
    return f"{RES}/nets/{wildcards.split}/r{wildcards.rep}/base{wildcards.src}/weights.pt"


def derived_base_weights(wildcards):
    """Base checkpoint a derived net copies from; none for random ('R') sources."""
    if wildcards.src == "R":
        return []
    return base_weights(wildcards)


def target_half(wildcards):
    half = getattr(wildcards, "tgt", None) or getattr(wildcards, "half", None)
    if half is None:  # evaluate: the net name ends with its target
        net = wildcards.net
        half = net[len("base") :] if net.startswith("base") else net[2]
    return f"{RES}/halves/{wildcards.split}/{half}.npz"


def train_params():
    """Settings that define a training run (a change reruns exactly the training jobs)."""
    return {"arch": ARCH, "train": dict(config["train"])}


def train_settings(wildcards):
    """TRAIN_PARAMS; the dataset-size networks train for the full set's iteration count."""
    if "-k" not in wildcards.split:
        return TRAIN_PARAMS
    return {**TRAIN_PARAMS, "train": {**TRAIN_PARAMS["train"], "iterations_of_full_set": True}}


def net_seed(wildcards, net=None):
    net = (
        net
        or getattr(wildcards, "net", None)
        or (
            f"base{wildcards.half}"
            if hasattr(wildcards, "half")
            else f"{wildcards.src}{wildcards.n}{wildcards.tgt}-{wildcards.mode}"
        )
    )
    return int(zlib.crc32(f"{wildcards.split}/{net}/r{wildcards.rep}".encode()))


def eval_record(wildcards):
    net = wildcards.net
    tgt = net[len("base") :] if net.startswith("base") else net[2]
    src = tgt if net.startswith("base") else net[0]
    return {
        "dataset": DATASET,
        "experiment": experiment_of(wildcards.split),
        "split": wildcards.split,
        "replicate": int(wildcards.rep),
        "base_task": task_name(wildcards.split, src),
        "target_task": task_name(wildcards.split, tgt),
        "train_per_class": half_train_per_class(wildcards) or int(config["data"]["train_per_class"]),
        "architecture": config["model"]["architecture"],
        "transfer_points": POINTS,
    }


TRAIN_PARAMS = train_params()
TRAIN_HASH = config_hash({"data": data_params(), **TRAIN_PARAMS})


def cluster_gpus():
    """Config ``cluster_gpus``: True, False or None (``--config cluster_gpus=true`` gives the string "true")."""
    value = config["cluster_gpus"]
    return {"true": True, "false": False}.get(value, value)


def resolve_device(device, gpus=None):
    """``auto``: cuda where ``gpus`` (config cluster_gpus) says the cluster's jobs get GPUs (true) and cpu where
    it says they do not (false); unset, cuda where the machine parsing the workflow has CUDA, else cpu (a job on
    a cluster node parses it there, so a GPU allocated to it counts)."""
    if device != "auto":
        return device
    if gpus is not None:
        return "cuda" if gpus else "cpu"
    from transferlab.devices import cuda_available

    return "cuda" if cuda_available() else "cpu"


def submits_to_cluster():
    """Whether this is the Snakemake process that submits jobs to Slurm (its default resources name Slurm
    settings, as profiles/slurm's do), not a job re-reading the workflow on its node."""
    from snakemake_interface_executor_plugins.settings import ExecMode

    defaults = workflow.resource_settings.default_resources
    names = [arg.split("=", 1)[0] for arg in (defaults.args if defaults is not None else [])]
    main = workflow.workflow_settings.exec_mode == ExecMode.DEFAULT
    return main and any(name.startswith("slurm_") for name in names)


def warn_cpu_training():
    """The one note of a cluster run whose training falls back to the CPU only because the submit host has
    no CUDA (transferlab.devices.cpu_training_note), printed once, while the workflow is read."""
    from transferlab.devices import cpu_training_note

    note = cpu_training_note(config["device"], cluster_gpus(), DEVICE != "cpu", submits_to_cluster())
    if note:
        print(note, file=sys.stderr, flush=True)


# The device of the GPU jobs (training, evaluation, CKA): each declares gpu=GPU; on CUDA the preflight check
# (workflow/rules/preflight.smk) runs first.
DEVICE = resolve_device(config["device"], cluster_gpus())
GPU = 1 if DEVICE.startswith("cuda") else 0
warn_cpu_training()


def preflight_report(wildcards):
    """Input of every training job on CUDA: the preflight check's report (ancient: a rerun of the check never
    retrains a network); none on the CPU, whose DAG has no check."""
    return ancient(f"{RES}/preflight.json") if GPU else []


def first_random_split():
    return f"random-{EXP['random_split']['seeds'][0]}"


def inspect_bases():
    return [f"{RES}/nets/{first_random_split()}/r0/base{h}/weights.pt" for h in ("A", "B")]


def inspect_weight_change_inputs(wildcards):
    n, sp = config["inspect_n"], first_random_split()
    return {
        "transfer_base": f"{RES}/nets/{sp}/r0/baseA/weights.pt",
        "transfer_ft": f"{RES}/nets/{sp}/r0/A{n}B-ft/weights.pt",
        "selffer_base": f"{RES}/nets/{sp}/r0/baseB/weights.pt",
        "selffer_ft": f"{RES}/nets/{sp}/r0/B{n}B-ft/weights.pt",
    }


# --------------------------------------------------------------------------- CKA (what the layers share)
def cka_measured():
    return EXP["random_split"]["enabled"] and config["cka"]["enabled"]


def cka_nets():
    """Networks whose representations are compared: both bases, and the fine-tuned derived nets."""
    return [n for n in random_split_nets() if n.startswith("base") or n.endswith("-ft")]


def cka_weights(wildcards):
    return {net: f"{RES}/nets/{wildcards.split}/r{wildcards.rep}/{net}/weights.pt" for net in cka_nets()}


def cka_pairs(wildcards):
    """baseA against baseB at every transfer unit; each fine-tuned net against the base it copied, at the
    units it copied (1..n)."""
    pairs = [
        {
            "kind": "bases",
            "a": "baseA",
            "b": "baseB",
            "net": "baseA~baseB",
            "treatment": "bases",
            "n": 0,
            "units": LAYERS,
        }
    ]
    for net in cka_nets():
        if net.endswith("-ft"):
            src, n = net[0], int(net[1:-4])
            kind = "selffer_ft" if src == net[-4] else "transfer_ft"
            pairs.append(
                {
                    "kind": "base_vs_ft",
                    "a": f"base{src}",
                    "b": net,
                    "net": net,
                    "treatment": kind,
                    "n": n,
                    "units": list(range(1, n + 1)),
                }
            )
    return pairs


def cka_records():
    return [
        f"{RES}/cka/random-{seed}/r{rep}.parquet"
        for seed in EXP["random_split"]["seeds"]
        for rep in replicates_of("random_split")
    ]


# --------------------------------------------------------------------------- outputs; `snakemake figures`
def weight_change_measured():
    e = EXP["random_split"]
    return e["enabled"] and e["fine_tune"] and config["inspect_n"] in e["layers"]


def result_tables():
    """The tables the networks are measured into; every figure is drawn from these alone."""
    out = [f"{RES}/evaluation.parquet", f"{RES}/predictions.parquet", f"{RES}/curves.parquet"]
    if EXP["random_split"]["enabled"]:
        out += [f"{RES}/conv1.parquet"]
    if cka_measured():
        out += [f"{RES}/cka.parquet"]
    return out


def figure_outputs():
    """What `snakemake figures` redraws from result_tables(): figures, derived tables, the scorecard."""
    out = [f"{RES}/claims.csv", f"{RES}/claims.md", f"{RES}/figures/claims.png"]
    out += [f"{RES}/tables/convergence.csv", f"{RES}/tables/convergence.md"]
    if EXP["random_split"]["enabled"]:
        out += [f"{RES}/figures/fig2.png", f"{RES}/figures/fig2.pdf", f"{RES}/figures/curves.png"]
        out += [f"{RES}/figures/filters.png", f"{RES}/tables/filters.csv", f"{RES}/figures/reference.png"]
        if EXP["random_split"]["fine_tune"]:
            out += [f"{RES}/tables/table1.csv", f"{RES}/tables/table1.md"]
    if cka_measured():
        out += [f"{RES}/figures/cka.png", f"{RES}/figures/cka.pdf", f"{RES}/tables/cka.csv"]
    if EXP["natman"]["enabled"] or EXP["random_weights"]["enabled"] or CUSTOM:
        out += [f"{RES}/figures/fig3.png", f"{RES}/figures/fig3.pdf"]
    if EXP["dataset_size"]["enabled"]:
        out += [f"{RES}/figures/dataset_size.png", f"{RES}/figures/dataset_size.pdf"]
    return out


def claims_input():
    return {"table": f"{RES}/evaluation.parquet", "predictions": f"{RES}/predictions.parquet"}


def all_outputs():
    out = result_tables() + figure_outputs() + [f"{RES}/config_used.yaml"]
    if weight_change_measured():
        out += [f"{RES}/tables/weight_change.csv"]
    return out


def figures_only():
    """Whether the DAG being built is for the target `figures` alone (Snakemake knows its targets while it
    builds the DAG, when input functions run, not while it parses the workflow)."""
    settings = getattr(workflow, "dag_settings", None)
    return settings is not None and set(settings.targets) == {"figures"}


def figures_input(wildcards):
    """`snakemake figures`: figure_outputs(); with result tables missing, one sentence and exit code 1."""
    missing = [t for t in result_tables() if not os.path.exists(t)] if figures_only() else []
    if missing:
        raise SystemExit(
            f"snakemake figures draws from the result tables of a finished run, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing: run the workflow first (snakemake)."
        )
    return figure_outputs()


# Under `snakemake figures` the rules that write result tables ask for this file, which nothing makes; so
# they cannot run, Snakemake reads each existing table as a source file and schedules nothing upstream.
NOT_RECOMPUTED = f"{RES}/.tables-are-not-recomputed-by-snakemake-figures"


def unless_figures(inputs):
    """Input of a rule that writes a result table; NOT_RECOMPUTED under `snakemake figures`, so that
    redrawing never trains or evaluates (not even after edits to their code)."""

    def input_unless_figures(wildcards):
        if figures_only():
            return NOT_RECOMPUTED
        return inputs(wildcards) if callable(inputs) else inputs

    return input_unless_figures
