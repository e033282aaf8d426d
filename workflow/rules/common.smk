# Config validation, the one design object, wildcard constraints and the path functions of the rules.
# Which networks exist and what each one is: transferlab/run/design.py. Rule files hold rules only.

import os
import sys
from pathlib import Path

# transferlab is imported from this repository, installed or not: Snakemake puts the Snakefile's folder on
# sys.path (and the scripts put it there themselves: workflow/scripts/_project.py).
from transferlab.run import configcheck
from transferlab.data import datasets as tdata
from transferlab.data import identity as tidentity
from transferlab.training import devices as tdevices
from transferlab.run import Design, check_run
from transferlab.run.runs import recorded_identity
from transferlab.io import config_hash
from transferlab.schema import result_config
from transferlab.names import BASE_PATTERN, DERIVED_PATTERN, HALF_PATTERN, NET_PATTERN, base_name, net_name

# the schema check, then what it cannot say (layers within the architecture, folders present, crop size)
configcheck.validate_config(config, Path(workflow.basedir, "workflow/schemas/config.schema.yaml"))

DESIGN = Design(config)
RESULTS = DESIGN.results
DATASET = DESIGN.dataset
DATA_PATH = tidentity.source_path(DATASET, config)
# what the data is (transferlab/data/identity.py); a job's own parse (a cluster job) takes the run's record:
# the main process checked the data and planned with it
if workflow.is_main_process or not recorded_identity(RESULTS):
    DATA_IDENTITY = tidentity.run_data_identity(DATASET, DATA_PATH, recorded=recorded_identity(RESULTS))
else:
    DATA_IDENTITY = recorded_identity(RESULTS)
UNIT_NAMES = DESIGN.units
FIG_TITLE = DESIGN.title


wildcard_constraints:
    dataset=r"[a-z-]+",
    split=DESIGN.split_pattern(),
    half=HALF_PATTERN,
    rep=r"\d+",
    net=NET_PATTERN,


# --------------------------------------------------------------------------- data
# The raw data is never a job's input file: a path is where the data is, its identity (from its content,
# transferlab/data/identity.py) is what it is, so a copy elsewhere changes nothing and a different archive
# is caught by the run guard (above) before any job's outputs are removed.


def dataset_source():
    """Where the raw dataset is read from (Tiny ImageNet at the default path is downloaded by list_classes)."""
    return DATA_PATH


def selected_classes():
    """The classes the run uses, read off the dataset while the workflow is parsed; None when the data is not
    there yet (Tiny ImageNet still to be downloaded): list_classes then checks in its job."""
    if not os.path.exists(dataset_source()):
        return None
    src = tdata.open_source(DATASET, dataset_source())
    return tdata.select_classes(src.wnids(), config["data"]["classes"], config["data"]["class_seed"], src.describe())


if DATASET == "imagefolder" or DESIGN.custom_splits:  # only these read the class names while parsing
    configcheck.check_classes(config, selected_classes())

PREPARED = multiext(
    f"{RESULTS}/prepared/",
    "train_images.npy",
    "train_labels.npy",
    "val_images.npy",
    "val_labels.npy",
    "meta.json",
    "mean_image.npy",
)
TRAIN_HASH = config_hash({"data": DESIGN.data_params(), **DESIGN.train_settings()})


# --------------------------------------------------------------------------- networks
def split_file(wildcards):
    return f"{RESULTS}/splits/{DESIGN.split_file_of(wildcards.split)}.json"


def target_half(wildcards):
    return f"{RESULTS}/halves/{wildcards.split}/{DESIGN.target_of(wildcards.net)}.npz"


def derived_base_weights(wildcards):
    """Base checkpoint a derived net copies from; none for random ('R') sources."""
    base = DESIGN.base_of(wildcards.net)
    return f"{RESULTS}/nets/{wildcards.split}/r{wildcards.rep}/{base}/weights.pt" if base else []


def net_seed(wildcards):
    return DESIGN.seed_of(wildcards.split, wildcards.net, wildcards.rep)


def train_settings(wildcards):
    return DESIGN.train_settings(wildcards.split)


def eval_record(wildcards):
    return DESIGN.eval_record(wildcards.split, wildcards.net, wildcards.rep)


def eval_records():
    return [f"{RESULTS}/eval/{split}/r{rep}/{net}.json" for split, net, rep in DESIGN.networks()]


def train_meta_files():
    return [f"{RESULTS}/nets/{split}/r{rep}/{net}/train.json" for split, net, rep in DESIGN.networks()]


def inspect_bases():
    return [f"{RESULTS}/nets/{DESIGN.first_random_split()}/r0/{base_name(h)}/weights.pt" for h in ("A", "B")]


def inspect_weight_change_inputs(wildcards):
    n, nets = config["inspect_n"], f"{RESULTS}/nets/{DESIGN.first_random_split()}/r0"
    roles = {
        "transfer_base": base_name("A"),
        "transfer_ft": net_name("A", n, "B", fine_tuned=True),
        "selffer_base": base_name("B"),
        "selffer_ft": net_name("B", n, "B", fine_tuned=True),
    }
    return {role: f"{nets}/{net}/weights.pt" for role, net in roles.items()}


def cka_weights(wildcards):
    return {net: f"{RESULTS}/nets/{wildcards.split}/r{wildcards.rep}/{net}/weights.pt" for net in DESIGN.cka_nets()}


def cka_records():
    return [f"{RESULTS}/cka/{split}/r{rep}.parquet" for split, rep in DESIGN.cka_runs()]


def custom_split_file(wildcards):
    """The user's JSON file of split ``custom`` (config ``splits``)."""
    return DESIGN.custom_splits[wildcards.custom]


# --------------------------------------------------------------------------- devices
# The device of the GPU jobs (training, evaluation, CKA): each declares gpu=GPU; on CUDA the preflight check
# (workflow/rules/preflight.smk) runs first.
DEVICE = tdevices.resolve_device(config["device"], config["cluster_gpus"])
GPU = 1 if DEVICE.startswith("cuda") else 0


def given_resource(name):
    """A global resource of the command line or profile (--cores 8: _cores, --resources gpu=4: gpu), or None."""
    value = workflow.global_resources.get(name)
    value = getattr(value, "value", value)
    return value if isinstance(value, int) and value < sys.maxsize else None


# threads of a training or CKA job: threads_per_job, or with auto an equal share of --cores per GPU
# (tdevices.job_threads); inside a Slurm job the script takes what cpus_per_task grants (granted_threads)
JOB_THREADS = tdevices.job_threads(config["threads_per_job"], DEVICE, given_resource("_cores"), given_resource("gpu"))
# preparation decodes in every core it is given (Snakemake caps it at --cores; Slurm: cpus_per_task)
PREP_THREADS = given_resource("_cores") or 4
# a finished run is never redone with other settings, another device or other data unless the config says
# replace (transferlab/run/runs.py); read before any job is planned
if workflow.is_main_process:
    check_run(
        RESULTS,
        DESIGN,
        {**DESIGN.result_data_params(), "identity": DATA_IDENTITY, "path": DATA_PATH, "device": DEVICE},
        config["replace"],
    )


def submits_to_cluster():
    """Whether this is the Snakemake process that submits jobs to Slurm (its default resources name Slurm
    settings, as profiles/slurm's do), not a job re-reading the workflow on its node."""
    from snakemake_interface_executor_plugins.settings import ExecMode

    defaults = workflow.resource_settings.default_resources
    names = [arg.split("=", 1)[0] for arg in (defaults.args if defaults is not None else [])]
    main = workflow.workflow_settings.exec_mode == ExecMode.DEFAULT
    return main and any(name.startswith("slurm_") for name in names)


# a job re-reading the workflow where a scheduler runs it (a Slurm job step): its scripts take the threads the
# allocation grants, not those Snakemake computed there from the submit host's --cores (tdevices.granted_threads)
if workflow.workflow_settings.exec_mode.name != "DEFAULT":
    os.environ[tdevices.REMOTE_JOB_ENV] = "1"

# a cluster run whose training falls back to the CPU only because the submit host has no CUDA says so, once
_note = tdevices.cpu_training_note(config["device"], config["cluster_gpus"], DEVICE != "cpu", submits_to_cluster())
if _note:
    print(_note, file=sys.stderr, flush=True)


def preflight_report(wildcards):
    """Input of every training job on CUDA: the preflight check's report (ancient: a rerun of the check never
    retrains a network); none on the CPU, whose DAG has no check."""
    return ancient(f"{RESULTS}/preflight.json") if GPU else []


# --------------------------------------------------------------------------- `snakemake figures`
def figures_only():
    """Whether the DAG being built is for the target `figures` alone (Snakemake knows its targets while it
    builds the DAG, when input functions run, not while it parses the workflow)."""
    settings = getattr(workflow, "dag_settings", None)
    return settings is not None and set(settings.targets) == {"figures"}


def figures_input(wildcards):
    """`snakemake figures`: the figure outputs; with result tables missing, one sentence and exit code 1."""
    missing = [t for t in DESIGN.result_tables() if not os.path.exists(t)] if figures_only() else []
    if missing:
        raise SystemExit(
            f"snakemake figures draws from the result tables of a finished run, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing: run the workflow first (snakemake)."
        )
    return DESIGN.figure_outputs()


# Under `snakemake figures` the rules that write result tables ask for this file, which nothing makes; so
# they cannot run, Snakemake reads each existing table as a source file and schedules nothing upstream.
NOT_RECOMPUTED = f"{RESULTS}/.tables-are-not-recomputed-by-snakemake-figures"


def unless_figures(inputs):
    """Input of a rule that writes a result table; NOT_RECOMPUTED under `snakemake figures`, so that
    redrawing never trains or evaluates (not even after edits to their code)."""

    def input_unless_figures(wildcards):
        return NOT_RECOMPUTED if figures_only() else inputs

    return input_unless_figures


def split_seed(wildcards):
    return int(wildcards.seed)


def half_train_per_class(wildcards):
    return DESIGN.train_per_class_of(wildcards.split)
