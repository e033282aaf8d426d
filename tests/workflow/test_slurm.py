"""The HPC path on a real Slurm: smoke preset through `--profile slurm`, then a requeue mid-training.

Starts a one-node cluster on localhost (tests/slurm/start_cluster.sh installs Debian's slurm-wlm
and munge if needed; root only) and stops the daemons it started at the end.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import stale_slurm_client, use_scontrol_stand_in
from workflow_helpers import REPO, snakemake, tiny_imagenet_path, workdir

pytestmark = pytest.mark.slurm


# Local-cluster settings on top of the project's Slurm profile (`--profile slurm` as typed in the project
# root, where `slurm` links to profiles/slurm): no accounting database (status via squeue), no accounts,
# and resources that fit a 2-core node.
SLURM_ARGS = [
    "--profile",
    "slurm",
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--jobs",
    "10",
    "--latency-wait",
    "5",
    "--default-resources",
    "slurm_partition=ci",
    "runtime=20",
    "mem_mb=600",
    "cpus_per_task=1",
    "--set-resources",
    "prepare_data:cpus_per_task=1",
    "prepare_data:mem_mb=1500",
    "train_base:cpus_per_task=1",
    "train_base:mem_mb=1500",
    "train_derived:cpus_per_task=1",
    "train_derived:mem_mb=1500",
    "evaluate_net:cpus_per_task=1",
    "evaluate_net:mem_mb=1000",
    "measure_cka:cpus_per_task=1",
    "measure_cka:mem_mb=1500",
    "--set-threads",
    "train_base=1",
    "train_derived=1",
    "evaluate_net=1",
    "measure_cka=1",
    "prepare_data=1",
]


RUN_SLURM = os.environ.get("CI") == "true" or os.environ.get("TRANSFERLAB_TEST_SLURM") == "1"


@pytest.fixture(scope="module")
def cluster():
    # The lane installs slurm-wlm and munge and starts daemons, so on a user's machine it runs only when asked
    # (`make test-slurm`); in CI (CI=true, which .ci/run sets) it always runs, and a machine that cannot host
    # Slurm fails here, saying why.
    if not RUN_SLURM:
        pytest.skip(
            "Slurm lane not run: it installs slurm-wlm and munge and starts a one-node cluster as root; "
            "`make test-slurm` runs it (CI always does)"
        )
    assert os.geteuid() == 0 and (shutil.which("apt-get") or shutil.which("slurmctld")), (
        "the Slurm test starts a one-node cluster: it needs root on a Debian-like machine (apt-get installs "
        "slurm-wlm and munge); run the other tests with `pytest -m 'not slurm' tests`"
    )
    use_scontrol_stand_in(False)  # the real scontrol, for the cluster this lane starts
    started = subprocess.run(["bash", str(REPO / "tests/slurm/start_cluster.sh")], capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    assert re.search(r"\bidle\b", started.stdout), started.stdout
    yield
    subprocess.run(["bash", str(REPO / "tests/slurm/stop_cluster.sh")])
    if stale_slurm_client():  # the client stays installed, its controller is gone
        use_scontrol_stand_in(True)


def _config(path):
    return ["--configfile", "config/smoke.yaml", "--config", f"tiny_imagenet_path={path}"]


# The smoke preset at one transfer point: every rule and group of the DAG (splits, preparation, bases and
# derived nets of every experiment, evaluation in the training job's group, CKA, tables, figures), 13
# networks instead of 56, so the Slurm path costs minutes of the suite, not a quarter of an hour.
SMALL = """experiments:
  random_split: {layers: [1]}
  natman: {layers: [1]}
  random_weights: {layers: [1]}
  dataset_size: {images_per_class: [8]}
"""


def test_smoke_preset_through_the_slurm_profile(cluster, tmp_path):
    """... and each training job runs with the CPUs its allocation grants: the bases get cpus_per_task=2 while
    Snakemake's own count for them is 1 (--set-threads; the submit host's --cores caps it the same way)."""
    wd = workdir(tmp_path)
    (wd / "small.yaml").write_text(SMALL)
    args = [a if a != "train_base:cpus_per_task=1" else "train_base:cpus_per_task=2" for a in SLURM_ARGS]
    assert args != SLURM_ARGS
    t0 = time.time()
    r = snakemake(
        wd,
        *args,
        "--configfile",
        "config/smoke.yaml",
        "small.yaml",
        "--config",
        f"tiny_imagenet_path={tiny_imagenet_path()}",
        timeout=2400,
    )
    elapsed = time.time() - t0
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    out = r.stdout + r.stderr
    assert "submitted with SLURM jobid" in out
    df = pd.read_parquet(wd / "results/smoke/evaluation.parquet")
    # random split: 2 bases + A1B, B1B frozen and fine-tuned; natman 2 + 2; random weights 1 + 1; dataset size 1
    assert len(df) == 13 and set(df.experiment) == {"random_split", "natman", "random_weights", "dataset_size"}
    assert (wd / "results/smoke/figures/fig2.png").stat().st_size > 10_000
    nets = wd / "results/smoke/nets"
    threads = {
        str(p.parent.relative_to(nets)): json.loads(p.read_text())["threads"] for p in nets.glob("*/*/*/train.json")
    }
    bases = [net for net in threads if net.endswith("/baseA") or net.endswith("/baseB")]
    assert bases and all(threads[net] == (2 if net in bases else 1) for net in threads), threads
    print(
        f"smoke preset (one transfer point) through Slurm: {elapsed:.0f} s"
    )  # shown with -s; nothing is written to the tree


def _running_jobid(proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"snakemake exited ({proc.returncode}) before a Slurm job ran:\n" + proc.stdout.read()[-3000:]
            )
        q = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %j"], capture_output=True, text=True).stdout
        ids = [line.split()[0] for line in q.splitlines() if line.strip()]
        if ids:
            return ids[0]
        time.sleep(0.5)
    raise AssertionError("no Slurm job started running")


def test_requeue_mid_training_resumes_to_identical_weights(cluster, tmp_path):
    data = tiny_imagenet_path()
    long = "train:\n  epochs: 600\n  checkpoint_every_s: 0.5\n  lr_step_epochs: 200\n"
    target = "results/smoke/nets/random-0/r0/baseA/weights.pt"
    # the uninterrupted reference, run locally with the same settings and thread count
    ref = workdir(tmp_path / "ref")
    (ref / "long.yaml").write_text(long)
    r = snakemake(
        ref,
        target,
        "--cores",
        "1",
        "--configfile",
        "config/smoke.yaml",
        "long.yaml",
        "--config",
        f"tiny_imagenet_path={data}",
    )
    assert r.returncode == 0, r.stderr[-3000:]

    wd = workdir(tmp_path / "slurm")
    (wd / "long.yaml").write_text(long)
    # inputs first, so the only job running under Slurm below is the training job
    prep = snakemake(wd, "results/smoke/halves/random-0/A.npz", "--cores", "1", *_config(data))
    assert prep.returncode == 0, prep.stderr[-3000:]
    proc = subprocess.Popen(
        # the target goes first: options such as --set-threads take every word after them
        [
            sys.executable,
            "-m",
            "snakemake",
            target,
            *SLURM_ARGS,
            "--configfile",
            "config/smoke.yaml",
            "long.yaml",
            "--config",
            f"tiny_imagenet_path={data}",
        ],
        cwd=wd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"),
    )
    jobid = _running_jobid(proc)
    ckpt = wd / "results/smoke/state/random-0/r0/baseA/ckpt.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert ckpt.exists(), "the training job wrote no checkpoint"
    time.sleep(2)
    t0 = time.time()
    rq = subprocess.run(["scontrol", "requeue", jobid], capture_output=True, text=True)
    assert rq.returncode == 0, rq.stderr
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out[-5000:]
    log = (wd / "results/smoke/logs/train/random-0/r0/baseA.log").read_text()
    m = re.search(r"resumed baseA from \S+ at epoch \d+, batch \d+, step (\d+)/(\d+)", log)
    assert m, log[-3000:]
    # Snakemake deletes the rule's log when the requeued job reruns; the attempts log keeps both attempts
    attempts = (wd / "results/smoke/state/random-0/r0/baseA/attempts.log").read_text()
    assert re.search(r"stopping baseA at step \d+ \(SIGTERM\)", attempts), attempts
    assert attempts.index("stopping baseA") < attempts.index("resumed baseA") < attempts.index("finished baseA")
    print(
        f"requeued Slurm job {jobid}; resumed at step {m.group(1)}/{m.group(2)}; "
        f"finished {time.time() - t0:.0f} s after the requeue"
    )
    a = torch.load(ref / target, weights_only=True)["state_dict"]
    b = torch.load(wd / target, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
