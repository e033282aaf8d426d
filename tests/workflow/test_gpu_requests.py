"""Which jobs ask the cluster for a GPU (dry-runs under the project's Slurm profile on this CPU-only machine):
with `cluster_gpus: true` every job of the GPU rules (training, evaluation, CKA, the preflight check) declares
gpu=1 and its sbatch command carries --gpus=1; unset, none does, no preflight job is planned, and the run says
once that training will run on CPUs; the presets meant for GPUs ask for them without any setting."""

from types import SimpleNamespace

import pytest
from conftest import make_fake_tiny
from workflow_helpers import dry_run_jobs, job_counts, job_resources, snakemake, workdir

from workflow.test_dag import SMOKE, fake_ilsvrc

GPU_RULES = ("train_base", "train_derived", "evaluate_net", "measure_cka", "check_cuda")
NOTE = "note: training will run on CPUs"
PREFLIGHT = "results/smoke/preflight.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Dry-runs of the smoke preset (device auto) through the Slurm profile: cluster_gpus unset, true, false;
    and unset without the profile (a local run)."""
    tmp = tmp_path_factory.mktemp("gpu")
    wd = workdir(tmp)
    z = make_fake_tiny(tmp / "tiny.zip")
    profile = ["--profile", "profiles/slurm", "--slurm-no-account"]
    out = {}
    for name, (args, config) in {
        "unset": (profile, []),
        "true": (profile, ["cluster_gpus=true"]),
        "false": (profile, ["cluster_gpus=false"]),
        "local": ([], []),
    }.items():
        r = snakemake(
            wd,
            "-n",
            *args,
            "--configfile",
            "config/smoke.yaml",
            "--config",
            f"tiny_imagenet_path={z}",
            "device=auto",
            *config,
        )
        out[name] = r.stdout + r.stderr
        assert r.returncode == 0, out[name][-3000:]
    return out


def _gpus(out) -> dict[str, set]:
    """rule -> the gpu resource of its jobs (group members included), for the GPU rules the run plans."""
    found = {}
    for job in dry_run_jobs(out):
        if job["rule"] in GPU_RULES:
            found.setdefault(job["rule"], set()).add(job_resources(job).get("gpu"))
    return found


def test_with_cluster_gpus_every_gpu_job_asks_for_one(runs):
    out = runs["true"]
    assert _gpus(out) == {rule: {"1"} for rule in GPU_RULES}
    counts = job_counts(out)
    assert counts == {**SMOKE, "check_cuda": 1}  # one preflight check, the design otherwise unchanged
    train = [j for j in dry_run_jobs(out) if j["rule"] in ("train_base", "train_derived")]
    assert len(train) == counts["train_base"] + counts["train_derived"]
    assert all(PREFLIGHT in j["input"].split(", ") for j in train)  # no training before the check
    assert NOTE not in out


def test_unset_the_run_says_once_that_training_runs_on_cpus(runs):
    out = runs["unset"]
    assert _gpus(out) == {rule: {"0"} for rule in GPU_RULES if rule != "check_cuda"}
    assert job_counts(out) == SMOKE  # the CPU DAG: no preflight check
    assert PREFLIGHT not in out
    assert out.count(NOTE) == 1
    note = next(line for line in out.splitlines() if line.startswith(NOTE))
    assert "--config cluster_gpus=true" in note and "cluster_gpus: false" in note


@pytest.mark.parametrize("run", ["false", "local"])
def test_a_cpu_cluster_or_a_local_run_trains_on_cpus_without_a_note(runs, run):
    """cluster_gpus: false is the CPU cluster's answer; a local run (no Slurm profile) was never in doubt."""
    assert _gpus(runs[run]) == {rule: {"0"} for rule in GPU_RULES if rule != "check_cuda"}
    assert job_counts(runs[run]) == SMOKE
    assert NOTE not in runs[run]


# ------------------------------------------------------------------ the sbatch commands the plugin builds
class _Resources(dict):
    """Job resources as the Slurm plugin reads them (``.get`` and attributes), from a dry-run's line."""

    def __init__(self, printed: dict[str, str]):
        super().__init__({k: int(v) if v.isdigit() else v for k, v in printed.items()})

    def __getattr__(self, name):
        return self[name]


def sbatch(resources: dict[str, str], threads: int = 1) -> str:
    """The plugin's sbatch command for a job with these resources (snakemake-executor-plugin-slurm)."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    job = SimpleNamespace(resources=_Resources(resources), threads=threads)
    params = {
        "run_uuid": "uuid",
        "slurm_logfile": "slurm.log",
        "comment_str": "job",
        "account": "",
        "partition": "",
        "workdir": "",
    }
    return get_submit_command(job, params) + set_gres_string(job)


def group_resources(members: list[dict[str, str]]) -> dict:
    """Snakemake's resources of a group whose members run one after another (group "net": a derived net's
    training, then its evaluation), as submitted to the cluster."""
    from snakemake.resources import GroupResources, Resource

    ints = [{k: v for k, v in m.items() if v.isdigit()} for m in members]
    jobs = [[SimpleNamespace(resources=_Resources(m), pipe_group=None)] for m in ints]
    unlimited = {k: Resource(k, None) for m in ints for k in m}  # no global limits, as under the Slurm profile
    return GroupResources.basic_layered(jobs, constraints=unlimited, run_local=False)


@pytest.mark.parametrize("run, flag", [("true", " --gpus=1"), ("unset", None)])
def test_submit_strings_of_every_gpu_rule(runs, run, flag):
    jobs = dry_run_jobs(runs[run])
    commands = {}
    for job in jobs:
        if job["rule"] in GPU_RULES:
            cmd = sbatch(job_resources(job))
            assert cmd.startswith("sbatch ") and "--cpus-per-task=" in cmd, cmd
            commands.setdefault(job["rule"], set()).add(cmd.endswith(" --gpus=1") if flag else "--gpus" in cmd)
    assert commands == {rule: {bool(flag)} for rule in (GPU_RULES if flag else GPU_RULES[:-1])}
    # group "net": a derived net's training then its evaluation, in one allocation with one GPU, not two
    train = next(j for j in jobs if j["rule"] == "train_derived")
    weights = train["output"].split(", ")[0]
    evaluation = next(j for j in jobs if j["rule"] == "evaluate_net" and weights in j["input"].split(", "))
    group = group_resources([job_resources(train), job_resources(evaluation)])
    assert group.get("gpu") == (1 if flag else 0)
    assert ("--gpus" in sbatch({k: str(v) for k, v in group.items()})) == bool(flag)


# ------------------------------------------------------------------ the presets meant for GPUs
@pytest.mark.parametrize("preset", ["paper", "full", "resnet18"])
def test_gpu_presets_ask_for_gpus_under_the_slurm_profile(preset, tmp_path):
    """config/paper.yaml, config/full.yaml and config/resnet18.yaml (device: cuda) on a submit host without
    CUDA: every GPU job asks for one, one preflight check runs first, and nothing is said."""
    wd = workdir(tmp_path)
    data = (
        f"tiny_imagenet_path={make_fake_tiny(tmp_path / 'tiny.zip')}"
        if preset == "full"
        else f"imagenet_root={fake_ilsvrc(tmp_path / 'ILSVRC2012')}"
    )
    r = snakemake(
        wd,
        "-n",
        "--profile",
        "profiles/slurm",
        "--slurm-no-account",
        "--configfile",
        f"config/{preset}.yaml",
        "--config",
        data,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert _gpus(out) == {rule: {"1"} for rule in GPU_RULES}
    assert job_counts(out)["check_cuda"] == 1 and NOTE not in out
