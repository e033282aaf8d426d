"""Faults on one machine, at the workflow level: SIGKILL Snakemake mid-training, rerun."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from workflow_helpers import snakemake, tiny_imagenet_path, workdir

LONG = "train:\n  epochs: 300\n  checkpoint_every_s: 0.2\n  lr_step_epochs: 100\n"
TARGET = "results/smoke/nets/random-0/r0/baseA/weights.pt"


def _args(data):
    return ["--configfile", "config/smoke.yaml", "long.yaml", "--config", f"tiny_imagenet_path={data}"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """baseA of the long settings, trained without interruption."""
    data = tiny_imagenet_path()
    ref = workdir(tmp_path_factory.mktemp("ref"))
    (ref / "long.yaml").write_text(LONG)
    r = snakemake(ref, "--cores", "1", TARGET, *_args(data))
    assert r.returncode == 0, r.stderr[-3000:]
    return ref


def _same_weights(a_path, b_path):
    a = torch.load(a_path, weights_only=True)["state_dict"]
    b = torch.load(b_path, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and len(a) >= 16
    return all(torch.equal(a[k], b[k]) for k in a)


def _train_until_first_checkpoint(wd, data, **popen):
    """Start Snakemake on baseA of the long settings in ``wd``; return once its first checkpoint exists."""
    (wd / "long.yaml").write_text(LONG)
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", TARGET, *_args(data)], cwd=wd, **popen)
    ckpt = wd / "results/smoke/state/random-0/r0/baseA/ckpt.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert ckpt.exists(), "no checkpoint was written"
    return proc


def test_sigkill_snakemake_mid_training_then_rerun_is_bit_identical(tmp_path, reference):
    data = tiny_imagenet_path()
    ref = reference

    wd = workdir(tmp_path / "kill")
    proc = _train_until_first_checkpoint(
        wd, data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the training job, no chance to clean up
    proc.wait()
    assert not (wd / TARGET).exists()
    assert snakemake(wd, "--unlock", *_args(data)).returncode == 0
    r = snakemake(wd, "--cores", "1", "--rerun-incomplete", TARGET, *_args(data))
    assert r.returncode == 0, r.stderr[-3000:]
    log = (wd / "results/smoke/logs/train/random-0/r0/baseA.log").read_text()
    m = re.search(r"resumed baseA from \S+ at epoch \d+, batch \d+, step (\d+)", log)
    assert m and int(m.group(1)) > 0, log[-2000:]
    assert _same_weights(ref / TARGET, wd / TARGET)


def test_sigterm_to_the_training_job_is_retried_by_snakemake_and_resumes(tmp_path, reference):
    """A time limit or preemption (SIGTERM to the training process): it checkpoints and exits 75, Snakemake's
    `retries` (train_retries: 2 in the smoke preset) reruns the job, which resumes; the weights are those of
    an uninterrupted run."""
    import psutil

    data = tiny_imagenet_path()
    wd = workdir(tmp_path / "term")
    proc = _train_until_first_checkpoint(wd, data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    trainers = [
        c for c in psutil.Process(proc.pid).children(recursive=True) if any("train.py" in part for part in c.cmdline())
    ]
    assert len(trainers) == 1, [c.cmdline() for c in psutil.Process(proc.pid).children(recursive=True)]
    trainers[0].send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    attempts = (wd / "results/smoke/state/random-0/r0/baseA/attempts.log").read_text()
    words = [line.split(" ", 3)[2] for line in attempts.splitlines()]
    assert words == ["training", "stopping", "resumed", "finished"], attempts
    assert "(SIGTERM)" in attempts.splitlines()[1]
    assert _same_weights(reference / TARGET, wd / TARGET)


def test_diverging_job_fails_clearly_and_leaves_no_result(tmp_path):
    data = tiny_imagenet_path()
    wd = workdir(tmp_path)
    (wd / "long.yaml").write_text("train:\n  lr: 1.0e+12\ntrain_retries: 0\n")
    r = snakemake(wd, "--cores", "1", "results/smoke/eval/random-0/r0/baseA.json", *_args(data))
    assert r.returncode != 0
    log = (wd / "results/smoke/logs/train/random-0/r0/baseA.log").read_text()
    assert "training loss became" in log and "lower the learning rate" in log
    assert not (wd / TARGET).exists()
    assert not (wd / "results/smoke/eval/random-0/r0/baseA.json").exists()


def test_ctrl_c_stops_the_training_job_cleanly_and_the_rerun_resumes(tmp_path, reference):
    """Ctrl-C at the terminal (SIGINT to Snakemake and its job, one process group): the job checkpoints at its
    next step, records the stop in attempts.log and says so in one line, no traceback; no output and no checksum
    of one is left; the rerun resumes to the weights of an uninterrupted run."""
    from transferlab import io as tio

    data = tiny_imagenet_path()
    wd = workdir(tmp_path / "int")
    proc = _train_until_first_checkpoint(
        wd, data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0, out[-3000:]
    state = wd / "results/smoke/state/random-0/r0/baseA"
    attempts = (state / "attempts.log").read_text().splitlines()
    assert [line.split(" ", 3)[2] for line in attempts] == ["training", "stopping"], attempts
    assert "(SIGINT)" in attempts[-1]
    log_path = wd / "results/smoke/logs/train/random-0/r0/baseA.log"
    assert "Traceback" not in log_path.read_text() + out and "KeyboardInterrupt" not in out, out[-3000:]
    assert not (wd / TARGET).exists() and not tio.sidecar_of(wd / TARGET).exists()
    assert tio.load_torch(state / "ckpt.pt")["progress"]["global_step"] > 0  # the checkpoint verifies
    r = snakemake(wd, "--cores", "1", TARGET, *_args(data))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert re.search(r"resumed baseA from \S+ at epoch \d+, batch \d+, step [1-9]", log_path.read_text())
    assert _same_weights(reference / TARGET, wd / TARGET)


HOLD = """import os, sys, time
if sys.argv and sys.argv[0].endswith(".train.py"):
    import transferlab.training.train as t
    _checkpoint = t._Training.checkpoint
    def checkpoint(self):
        _checkpoint(self)
        while not os.path.exists(os.environ["TRANSFERLAB_TEST_RELEASE"]):
            time.sleep(0.05)
    t._Training.checkpoint = checkpoint
"""
SIX = """experiments:
  random_split: {layers: [1]}
  natman: {enabled: false}
  random_weights: {enabled: false}
  dataset_size: {enabled: false}
train: {checkpoint_every_s: 0.5}
"""


def test_status_counts_a_run_while_a_training_job_is_held_and_says_finished_after(tmp_path):
    """The status command during a run (Snakemake's lock held, a training job running, held at its first
    checkpoint until the test releases it: no timing) and after it, on a design of six networks."""
    from transferlab.run.configcheck import load_config
    from transferlab.run.design import Design

    data = tiny_imagenet_path()
    wd = workdir(tmp_path / "status")
    (wd / "six.yaml").write_text(SIX)
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim/sitecustomize.py").write_text(HOLD)
    release = tmp_path / "release"
    env = dict(os.environ, TRANSFERLAB_TEST_RELEASE=str(release))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp_path / "shim"), env.get("PYTHONPATH")) if p)
    args = ["--configfile", "config/smoke.yaml", "six.yaml", "--config", f"tiny_imagenet_path={data}"]
    design = Design(load_config(wd, ["config/smoke.yaml", "six.yaml"], {"tiny_imagenet_path": data}))
    targets = [f"{design.results}/nets/{s}/r{r}/{n}/weights.pt" for s, n, r in design.networks()]
    assert len(targets) == 6
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "1", *targets, *args],
        cwd=wd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def status():
        r = subprocess.run(
            [sys.executable, "-m", "transferlab.run.status", "--", *args], cwd=wd, capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout.splitlines()

    try:
        deadline = time.time() + 300
        while not list((wd / design.results / "state").glob("*/r0/*/ckpt.pt")) and time.time() < deadline:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(0.1)
        lines = status()  # one job held at its first checkpoint, Snakemake's lock taken
        assert lines[0] == "run: results/smoke"
        assert lines[1] == "done 0, running 1, waiting 5 (of 6 networks)", lines
        assert lines[2].startswith("  running  random-0/r0/base") and "estimated end: unknown" in lines[3]
    finally:
        release.touch()
        out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert status()[1:] == [
        "done 6, running 0, waiting 0 (of 6 networks)",
        "finished: every network of the design is trained",
    ]
