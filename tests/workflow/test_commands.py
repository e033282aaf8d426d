"""Commands of README.md typed literally in the project root (dry-runs): `--profile slurm`, GPU resources."""

import os
import re

import pytest
from conftest import REPO, make_fake_tiny
from workflow_helpers import dry_run_jobs, job_counts, job_resources, snakemake, workdir

TRAIN = ("train_base", "train_derived")


@pytest.fixture
def wd(tmp_path):
    return workdir(tmp_path)


def _home(tmp_path, user_profile=None):
    """A fresh HOME, optionally with the user's own ~/.config/snakemake/slurm profile."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    if user_profile:
        (home / ".config/snakemake/slurm").mkdir(parents=True)
        (home / ".config/snakemake/slurm/config.yaml").write_text(user_profile)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def _profile_slurm(wd, fake_tiny, env, *config):
    r = snakemake(
        wd,
        "--profile",
        "slurm",
        "-n",
        "--slurm-no-account",
        "--configfile",
        "config/smoke.yaml",
        "--config",
        f"tiny_imagenet_path={fake_tiny}",
        *config,
        env=env,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    return out


def _train_gpus(out):
    jobs = [j for j in dry_run_jobs(out) if j["rule"] in TRAIN]
    assert len(jobs) == sum(job_counts(out)[rule] for rule in TRAIN)
    return {job_resources(j).get("gpu") for j in jobs}


def _uses_project_profile(out):
    """The project's Slurm profile: its groups and its training resources."""
    # "Using profile slurm ..." or, beside the workflow profile, "Using profiles slurm and workflow specific ..."
    assert re.search(r"Using profiles? slurm ", out)
    assert out.count("Group job net") == job_counts(out)["evaluate_net"]
    train = [job_resources(j) for j in dry_run_jobs(out) if j["rule"] in TRAIN]
    assert {(r["runtime"], r["cpus_per_task"]) for r in train} == {("1440", "8")}


def test_profile_slurm_from_the_project_root(wd, fake_tiny, tmp_path):
    out = _profile_slurm(wd, fake_tiny, _home(tmp_path))
    _uses_project_profile(out)
    assert _train_gpus(out) == {"0"}  # the smoke preset stays on the CPU under Slurm


def _base_runtimes(out):
    return {job_resources(j).get("runtime") for j in dry_run_jobs(out) if j["rule"] == "train_base"}


def test_project_profile_wins_over_the_users(wd, fake_tiny, tmp_path):
    env = _home(tmp_path, "executor: local\nset-resources:\n  train_base:\n    runtime: 7777\n")
    out = _profile_slurm(wd, fake_tiny, env)
    _uses_project_profile(out)
    # without the project's link the user's profile is the one found: the fake HOME is in effect
    (wd / "slurm").unlink()
    out = _profile_slurm(wd, fake_tiny, env)
    assert _base_runtimes(out) == {"7777"} and "Group job net" not in out


def _fake_cuda(tmp_path, cuda):
    """Environment in which Snakemake's parse-time CUDA detection (``devices.cuda_available``) says ``cuda``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import transferlab.training.devices\ntransferlab.training.devices.cuda_available = lambda: {cuda}\n"
    )
    return {"PYTHONPATH": f"{site}{os.pathsep}{REPO}"}  # this checkout's transferlab, whatever the venv has


@pytest.mark.parametrize(
    "device, cuda, gpu",
    [
        (None, True, "1"),
        ("auto", False, "0"),
        ("cuda", False, "1"),
        ("cpu", True, "0"),
    ],
)
def test_training_jobs_declare_a_gpu_where_there_is_one(wd, fake_tiny, tmp_path, device, cuda, gpu):
    """`snakemake --cores 8 --resources gpu=4` on a 4-GPU machine trains four networks at once: with the
    default device (auto) every training job declares gpu=1 where Snakemake sees CUDA, else gpu=0."""
    config = [f"tiny_imagenet_path={fake_tiny}"] + ([f"device={device}"] if device else [])
    r = snakemake(wd, "-n", "--config", *config, env=_fake_cuda(tmp_path, cuda))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert _train_gpus(out) == {gpu}


def test_a_target_runs_without_cores_as_the_readme_types_it(tmp_path):
    """`snakemake figures` / `snakemake` need no --cores: profiles/default sets them (Snakemake 9
    otherwise stops with "cores have to be specified")."""
    wd = workdir(tmp_path)
    z = make_fake_tiny(tmp_path / "tiny.zip")
    r = snakemake(wd, "list_classes", "--config", f"tiny_imagenet_path={z}", "data={classes: 0}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "cores have to be specified" not in r.stderr
    assert (wd / "results/tiny-imagenet/classes.json").exists()
