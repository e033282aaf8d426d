"""benchmarks/gpu_check.py, the one command for a lent GPU, at tiny sizes on the CPU: every measurement it
reports is produced by the project's own trainer and data path, and its resume check can fail."""

import json
import subprocess
import sys

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
