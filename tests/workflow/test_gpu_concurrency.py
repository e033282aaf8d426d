"""The headline GPU command keeps every GPU busy: `snakemake --cores 8 --resources gpu=4` with a GPU preset (the
paper preset at toy scale, threads_per_job auto) runs four training jobs at once, each on its own GPU, with 2
threads each and a DataLoader worker process building its batches.

CUDA is faked in the jobs (a sitecustomize hook): the preflight check writes its report, and a training job
claims one of four GPU locks as a real job claims a GPU, then trains on the CPU. Each job, once it holds its
GPU, waits (at most 30 s) until four jobs have started, so jobs that may run together are seen together
without any timing; with one job at a time (8 threads a job, as before) every wait runs out."""

import json
import os

from conftest import REPO
from workflow_helpers import design_of, ilsvrc_folder, snakemake, workdir

FAKE_CUDA = """import contextlib, json, os, sys, time
script = sys.argv[0] if sys.argv else ""
if script.endswith(".preflight.py"):
    import transferlab.training as training
    from transferlab import io as tio

    def preflight(*, out, **_):
        tio.atomic_write_json(out, {"host": "test", "device": "cuda:0", "compile_ok": None, "fake_cuda": True})

    training.preflight = preflight
elif script.endswith(".train.py"):
    import torch
    import transferlab.training.devices as devices

    times = os.environ["TRANSFERLAB_TEST_TIMES"]

    @contextlib.contextmanager
    def job_device(requested, log=None, lock_dir=None):
        assert requested == "cuda", requested
        with devices.claim_device("cuda", devices.lock_dir_default(), n_devices=4, poll_s=0.05, log=log) as claim:
            start = time.time()
            open(os.path.join(times, f"{os.getpid()}.start"), "w").close()
            while sum(f.endswith(".start") for f in os.listdir(times)) < 4 and time.time() < start + 30:
                time.sleep(0.05)
            yield "cpu"
            record = {"start": start, "end": time.time(), "gpu": claim.device, "threads": torch.get_num_threads()}
            with open(os.path.join(times, f"{os.getpid()}.json"), "w") as f:
                json.dump(record, f)

    devices.job_device = job_device
"""
GPU_TOY = """device: cuda
threads_per_job: auto
train:
  workers: 1
"""


def most_at_once(intervals) -> int:
    """The largest number of (start, end) intervals that hold one moment in common."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda t: (t[0], t[1]))
    now = best = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def test_most_at_once_counts_overlaps():
    assert most_at_once([(0, 1), (1, 2), (2, 3)]) == 1  # one ends as the next starts
    assert most_at_once([(0, 4), (1, 2), (1.5, 3), (5, 6)]) == 3


def test_four_gpus_train_four_networks_at_once_under_the_headline_command(tmp_path):
    root = ilsvrc_folder(tmp_path / "ILSVRC2012")
    wd = workdir(tmp_path)
    (wd / "tests/data").mkdir(parents=True)
    (wd / "tests/data/paper-toy.yaml").write_text((REPO / "tests/data/paper-toy.yaml").read_text())
    (wd / "gpu-toy.yaml").write_text(GPU_TOY)
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim/sitecustomize.py").write_text(FAKE_CUDA)
    times = tmp_path / "times"
    times.mkdir()
    configs = ["config/paper.yaml", "tests/data/paper-toy.yaml", "gpu-toy.yaml"]
    design = design_of(*(str(wd / c) for c in configs), imagenet_root=str(root))
    nets = [f"{s}/r{r}/{n}" for s, n, r in design.networks() if n.startswith("base")]
    bases = [f"{design.results}/nets/{net}/weights.pt" for net in nets]
    assert len(bases) > 4  # more networks than GPUs: the fifth waits for a free one
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path / "shim"), os.environ.get("PYTHONPATH")) if p),
        "TRANSFERLAB_TEST_TIMES": str(times),
        "TRANSFERLAB_GPU_LOCK_DIR": str(tmp_path / "locks"),
    }
    r = snakemake(
        wd, *bases, "--cores", "8", "--resources", "gpu=4", "--configfile", *configs,
        "--config", f"imagenet_root={root}", env=env, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    jobs = [json.loads(p.read_text()) for p in times.glob("*.json")]
    assert len(jobs) == len(bases)
    assert most_at_once([(j["start"], j["end"]) for j in jobs]) == 4
    first = sorted(jobs, key=lambda j: j["start"])[:4]
    assert sorted(j["gpu"] for j in first) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert {j["threads"] for j in jobs} == {2}  # --cores 8 // gpu=4
    for net in nets:
        assert "threads 2, loader workers 1, device cpu" in (wd / design.results / f"logs/train/{net}.log").read_text()
