"""A quick run of the benchmark suite reports every measurement, each in the range its meaning allows (speed targets
live in BENCHMARKS.md, not here)."""

import json
import subprocess
import sys

from conftest import REPO


def test_benchmark_suite_quick_run_reports_every_measurement_in_its_plausible_range(tmp_path):
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/run.py"), "--quick", "--skip-workflow", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    g = res["gemm_flops"]
    assert 1e9 < g < 1e13, g  # FLOP/s of one CPU thread's sgemm: tens to hundreds of GFLOP/s
    # CaffeNet at 227 px: about 0.72 GMAC forward (Krizhevsky et al.'s net, grouped); train = 3x forward
    assert 3.5e9 < res["paper_flops_per_image_train"] < 5e9
    assert 50 < res["paper_flops_per_image_train"] / res["default_flops_per_image_train"] < 1000  # 32 px vs 227 px
    for net in ("default", "paper"):
        achieved = res[f"{net}_project"] * res[f"{net}_flops_per_image_train"]
        assert 0 < achieved < 1.2 * g, net  # no training step beats the GEMM ceiling of the same threads
        assert 0.2 < res[f"{net}_project"] / res[f"{net}_bare"] < 2, net  # the project step against the bare loop
    assert res["data_path"] > res["default_project"]  # the data path alone outruns the trainer it feeds
    assert 0 < res["paper_host_per_worker"] < res["data_path"]  # 227 px crops cost more than 32 px ones
    # what crosses to the device per paper image: a 227 x 227 x 3 uint8 crop and a few bytes of label and draws
    assert 227 * 227 * 3 <= res["paper_host_bytes_per_image"] < 227 * 227 * 3 + 64
    assert 0.05 < res["forward_share"] < 1  # a forward pass is part of a training step
    assert set(res["frozen_epoch_ratio"]) == {"1", "2", "4", "7"}
    assert set(res["bare_frozen_ratio"]) == {"2", "7"}
    for ratios in (res["frozen_epoch_ratio"], res["bare_frozen_ratio"]):
        assert all(0.1 < v < 1.5 for v in ratios.values()), ratios  # frozen layers skip work, never add it
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


def test_data_format_benchmark_reports_bytes_and_feed(tmp_path):
    """benchmarks/data_format.py --quick: JPEG bytes per 256-px photograph fall with the quality and stay below
    raw uint8; the host feed of encoded batches runs in the process and through a worker."""
    out = tmp_path / "data_format.json"
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/data_format.py"), "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert "matplotlib:grace_hopper" in res["photos"] and res["n_images"] >= 3
    sizes = [res["bytes_per_image"][q] for q in ("75", "85", "90", "95")]
    assert sizes == sorted(sizes) and 1e3 < sizes[0] and sizes[-1] < 256 * 256 * 3
    assert res["feed"]["0"] > 0 and res["feed"]["1"] > 0
    assert "| JPEG at quality 90 (4:2:0) |" in r.stdout
