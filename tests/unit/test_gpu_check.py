"""benchmarks/gpu_check.py, the one command for a lent GPU, at tiny sizes on the CPU: every measurement it
reports is produced by the project's own trainer and data path, and its resume check can fail."""

import json
import subprocess
import sys

import pytest
from conftest import REPO


def _run(tmp_path, *extra, env=None):
    out = tmp_path / "gpu_check.json"
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/gpu_check.py"), "--tiny", "--device", "cpu", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(out.read_text()), r.stdout


def test_gpu_check_runs_the_project_path_at_tiny_sizes(tmp_path):
    res, table = _run(tmp_path)
    assert res["project"]["steps"] == 24  # train_network ran its full schedule
    project, bare = res["project"]["images_per_s"], res["bare_images_per_s"]
    assert 0.02 < project / bare < 1.5  # the full trainer's step against the bare loop of the same net
    assert 0 < res["project"]["wall_s"] < res["wall_s"] and 0 <= res["project"]["dev_top1"] <= 1
    assert res["host_feed"]["images_per_s"] > 0 and res["host_feed"]["workers"] >= 1
    # uint8 crops of 16 x 16 x 3 plus labels and draws: what crosses to the device, not float32
    assert 16 * 16 * 3 <= res["host_feed"]["bytes_per_image"] < 16 * 16 * 3 * 2
    assert res["resume_identical"] is True
    assert "| resume bit-identical (deterministic, eager) | yes |" in table
    # steady state: the rate leaves out the first record
    assert (res["project"]["warmup_steps"], res["project"]["measured_steps"]) == (6, 18)
    # the trainer's steps ran through the sync check's guard (the mode itself needs CUDA)
    assert res["sync_free"] == {"mode": "n/a (cpu)", "steps": 30, "error": None}
    assert res["h2d_gb_per_s"]["pinned"] > 0 and res["h2d_gb_per_s"]["pageable"] > 0
    assert 1e5 < res["flops_per_image_train"] < 1e8 and res["peak"] is None  # the tiny net, no GPU's peak
    assert "no peak on record for this device" in table and "host syncs in 30 training steps" in table
    # the JPEG format through the device path (here the CPU): decode alone, and the feed behind the trainer
    j = res["jpeg"]
    assert j["decode_images_per_s"] > 0 and j["feed_images_per_s"] > 0 and 100 < j["bytes_per_image"] < 4 * 20 * 20 * 3
    assert "| JPEG decode + crop on the device (quality 90, batch 16) |" in table


def _gpu_check_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks/gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_peak_and_the_link_are_read_from_the_device():
    g = _gpu_check_module()
    assert g.peak_of("NVIDIA H100 80GB HBM3")["bf16"] == 989e12  # SXM
    assert g.peak_of("NVIDIA H100 PCIe")["tf32"] == 378e12
    assert g.peak_of("NVIDIA GH200 480GB")["part"] == "GH200" and g.peak_of("NVIDIA H200")["part"] == "H200"
    assert g.peak_of("NVIDIA A100-SXM4-80GB")["part"] == "A100" and g.peak_of("NVIDIA A10")["part"] == "A10"
    assert g.peak_of("NVIDIA L40S")["part"] == "L40S" and g.peak_of("Tesla V100-SXM2-16GB") is None
    assert g.pcie_link("5, 16\n")["gb_per_s"] == pytest.approx(63.0, abs=0.1)
    assert g.pcie_link("[N/A], [N/A]\n") is None and g.pcie_link("") is None


def test_a_host_sync_in_the_step_is_named():
    """The guard around the trainer's step reports what raised under the sync debug mode (here a RuntimeError
    that a shimmed step raises, as torch does on a GPU for a blocking call)."""
    import tempfile
    from pathlib import Path

    import transferlab.training.train as train

    g = _gpu_check_module()
    sz = g.sizes(True)
    step = train._Training.step

    def blocking(self, *a):
        raise RuntimeError("called a synchronizing CUDA operation\nmore")

    train._Training.step = blocking
    try:
        with tempfile.TemporaryDirectory() as d:
            prep = g.generate(Path(d) / "prep", sz["classes"], sz["per_class"], sz["image_size"])
            out = g.sync_free(prep, Path(d) / "sync", sz, "cpu", 0, steps=4)
    finally:
        train._Training.step = step
    assert out["error"] == "called a synchronizing CUDA operation" and out["steps"] == 0
    assert train._Training.step is step


def test_gpu_check_reports_a_resume_that_differs(tmp_path):
    """A trainer whose resumed run replays different batches (the epoch order drawn from another seed after a
    resume) is caught: the check says NO instead of yes."""
    import os

    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import transferlab.data.batches as b, transferlab.training.train as t\n"
        "_orig = t._Training.resume_or_start\n"
        "def resume_or_start(self):\n"
        "    _orig(self)\n"
        "    if self.progress.resumes:\n"
        "        self.seed += 1\n"
        "t._Training.resume_or_start = resume_or_start\n"
    )
    env = dict(os.environ, PYTHONPATH=f"{shim}{os.pathsep}{REPO}")
    res, table = _run(tmp_path, env=env)
    assert res["resume_identical"] is False and "| NO |" in table
