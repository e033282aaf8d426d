"""A quick run of the benchmark suite reports every measurement (speed targets live in BENCHMARKS.md, not here)."""

import json
import subprocess
import sys

from conftest import REPO

PAPER_PRESET_JOBS = (
    571  # tests/test_dag.py pins it rule by rule (562 when BENCHMARKS.md was measured; +6 CKA jobs, +1 check_cuda)
)


def test_benchmark_suite_quick_run_reports_every_measurement(tmp_path):
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/run.py"), "--quick", "--skip-workflow", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    for key in (
        "gemm_flops",
        "default_bare",
        "default_project",
        "data_path",
        "paper_bare",
        "paper_project",
        "default_flops_per_image_train",
        "paper_flops_per_image_train",
        "paper_host_per_worker",
    ):
        assert res[key] > 0, key
    # what crosses to the device per paper image: a 227 x 227 x 3 uint8 crop and a few bytes of label and draws
    assert 227 * 227 * 3 <= res["paper_host_bytes_per_image"] < 227 * 227 * 3 + 64
    assert set(res["frozen_epoch_ratio"]) == {"1", "2", "4", "7"}
    assert set(res["bare_frozen_ratio"]) == {"2", "7"} and all(0 < v < 1.5 for v in res["bare_frozen_ratio"].values())
    assert all(v > 0 for v in res["frozen_epoch_ratio"].values())
    # CaffeNet at 227 px: about 0.72 GMAC forward (Krizhevsky et al.'s net, grouped); train = 3x forward
    assert 3.5e9 < res["paper_flops_per_image_train"] < 5e9
    md = (tmp_path / "results.md").read_text()
    for label in (
        "bare loop",
        "GEMM ceiling",
        "data path",
        "frozen transfer n=7",
        "frozen transfer n=2",
        "host side of one worker",
    ):
        assert label in md, label
