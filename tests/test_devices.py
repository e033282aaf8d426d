import io
import os
import stat
import subprocess
import sys
import tempfile

import pytest

from transferlab import devices
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


def test_cuda_detection_imports_torch_only_where_a_gpu_driver_is(tmp_path, monkeypatch):
    """Snakemake asks at parse time (device auto): without a GPU driver the answer costs no torch import."""
    code = ("import sys\nfrom transferlab import devices\ndevices.GPU_DRIVER_FILES = ()\n"
            "print(devices.cuda_available(), 'torch' in sys.modules)\n")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == ["False", "False"]
    import torch

    monkeypatch.setattr(devices, "GPU_DRIVER_FILES", (str(tmp_path),))
    for cuda in (True, False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        assert devices.cuda_available() is cuda


# ------------------------------------------------------------------ one lock folder, several users
def _as_another_user(monkeypatch, folder, *, reads=True):
    """Refuse opening files in ``folder`` for writing (with ``reads=False``: at all), as the kernel
    does for another user's files and folders; the tests run as root, who is never refused."""
    real_os_open, real_open = os.open, open

    def refused(path, writing):
        return str(path).startswith(str(folder)) and (writing or not reads)

    def os_open(path, flags, *a, **kw):
        exists = flags & os.O_EXCL and os.path.exists(path)  # the kernel answers EEXIST before EACCES
        if not exists and refused(path, flags & os.O_ACCMODE != os.O_RDONLY):
            raise PermissionError(13, "Permission denied", str(path))
        return real_os_open(path, flags, *a, **kw)

    def open_(path, mode="r", *a, **kw):
        if refused(path, any(c in mode for c in "wax+")):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr("builtins.open", open_)


def test_lock_folder_and_files_are_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    old = os.umask(0o022)
    try:
        claim = claim_device("cuda", tmp_path / "locks", n_devices=2, log=io.StringIO())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "locks").stat().st_mode) == 0o1777
    for i in range(2):
        assert stat.S_IMODE((tmp_path / f"locks/gpu{i}.lock").stat().st_mode) == 0o666
    claim.release()


def test_read_only_lock_file_of_another_user_still_locks(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (tmp_path / "gpu0.lock").write_text("")
    (tmp_path / "gpu1.lock").write_text("")
    _as_another_user(monkeypatch, tmp_path)
    log = io.StringIO()
    claims = [claim_device("cuda", tmp_path, n_devices=2, log=log) for _ in range(2)]
    assert sorted(c.device for c in claims) == ["cuda:0", "cuda:1"]
    assert "warning" not in log.getvalue()


def test_unusable_lock_folder_warns_and_falls_back(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)
    _as_another_user(monkeypatch, shared, reads=False)
    log = io.StringIO()
    first = claim_device("cuda", shared, n_devices=2, log=log)
    warnings = [line for line in log.getvalue().splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert str(shared) in warnings[0] and "TRANSFERLAB_GPU_LOCK_DIR" in warnings[0]
    fallback = tmp_path / "tmp" / f"transferlab-gpu-locks-{os.getuid()}"
    assert (fallback / "gpu0.lock").exists()
    # the per-user folder still keeps this user's jobs apart
    assert {first.device, claim_device("cuda", shared, n_devices=2, log=log).device} == {"cuda:0", "cuda:1"}


# ------------------------------------------------------------------ several GPUs in one allocation (issue 17)
def test_four_visible_gpus_in_one_slurm_allocation_give_four_devices(tmp_path, monkeypatch):
    """salloc with four GPUs and Snakemake's local executor inside: SLURM_JOB_ID and CUDA_VISIBLE_DEVICES are
    set for every job, which before took cuda:0 for all four."""
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    ids = [f"GPU-{i:04d}" for i in range(4)]
    claims = [claim_device("cuda", tmp_path, n_devices=4, uuids=ids) for _ in range(4)]
    assert sorted(c.device for c in claims) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"gpu-{u}.lock" for u in ids]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")  # one GPU given to the job: no lock needed
    assert claim_device("cuda", tmp_path / "none", n_devices=1).device == "cuda:0"
    assert not (tmp_path / "none").exists()


def test_locks_follow_the_physical_gpu_not_the_visible_index(tmp_path, monkeypatch):
    """Two runs that see two GPUs in opposite orders: the first takes GPU A as its cuda:0; the second, whose
    cuda:0 is GPU B, gets B (its cuda:0), never A again."""
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    first = claim_device("cuda", tmp_path, n_devices=2, uuids=["GPU-A", "GPU-B"])
    second = claim_device("cuda", tmp_path, n_devices=2, uuids=["GPU-B", "GPU-A"], timeout_s=0.2, poll_s=0.05)
    assert (first.device, second.device) == ("cuda:0", "cuda:0")  # A in the first run, B in the second
    with pytest.raises(NoFreeDevice):
        claim_device("cuda", tmp_path, n_devices=2, uuids=["GPU-A", "GPU-B"], timeout_s=0.2, poll_s=0.05)


def test_the_lock_folder_is_one_path_for_every_user_and_job(monkeypatch):
    monkeypatch.delenv("TRANSFERLAB_GPU_LOCK_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", "/tmp/job-1234")  # Slurm's per-job TMPDIR
    assert devices.lock_dir_default() == "/tmp/transferlab-gpu-locks"
    monkeypatch.setenv("TRANSFERLAB_GPU_LOCK_DIR", "/shared/locks")
    assert devices.lock_dir_default() == "/shared/locks"
