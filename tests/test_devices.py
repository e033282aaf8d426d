import subprocess
import sys

import pytest

from transferlab.devices import NoFreeDevice, claim_device


def test_four_jobs_get_four_different_gpus(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    claims = [claim_device("cuda", tmp_path, n_devices=4) for _ in range(4)]
    assert sorted(c.device for c in claims) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    with pytest.raises(NoFreeDevice, match="busy"):
        claim_device("cuda", tmp_path, n_devices=4, timeout_s=0.2, poll_s=0.05)
    claims[2].release()
    assert claim_device("cuda", tmp_path, n_devices=4, timeout_s=1).device == "cuda:2"


def test_claims_across_processes(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    code = ("import sys, time\nfrom transferlab.devices import claim_device\n"
            f"c = claim_device('cuda', {str(tmp_path)!r}, n_devices=2)\nprint(c.device, flush=True)\ntime.sleep(30)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        other = p.stdout.readline().strip()
        mine = claim_device("cuda", tmp_path, n_devices=2, timeout_s=1)
        assert {other, mine.device} == {"cuda:0", "cuda:1"}
    finally:
        p.kill()
        p.wait()
    # the killed process's lock is gone with it
    assert claim_device("cuda", tmp_path, n_devices=2, timeout_s=1).device in {"cuda:0", "cuda:1"}


def test_scheduler_isolated_and_explicit_devices(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert claim_device("cuda", tmp_path, n_devices=1).device == "cuda:0"
    assert claim_device("cuda:2", tmp_path, n_devices=4).device == "cuda:2"
    assert claim_device("cpu", tmp_path, n_devices=4).device == "cpu"
    assert claim_device("auto", tmp_path, n_devices=0).device == "cpu"
    with pytest.raises(NoFreeDevice, match="no CUDA device"):
        claim_device("cuda", tmp_path, n_devices=0)
