import io
import os
import stat
import subprocess
import sys
import tempfile

import pytest

from transferlab.errors import NoFreeDevice
from transferlab.training import devices
from transferlab.training.devices import claim_device


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
    code = (
        "import sys, time\nfrom transferlab.training.devices import claim_device\n"
        f"c = claim_device('cuda', {str(tmp_path)!r}, n_devices=2)\nprint(c.device, flush=True)\ntime.sleep(30)\n"
    )
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
    with pytest.raises(ValueError, match="'cpu', 'cuda' or 'cuda:N', got 'auto'"):
        claim_device("auto", tmp_path, n_devices=0)  # 'auto' is resolved once, by job_device
    with pytest.raises(NoFreeDevice, match="no CUDA device"):
        claim_device("cuda", tmp_path, n_devices=0)


def test_cuda_detection_imports_torch_only_where_a_gpu_driver_is(tmp_path, monkeypatch):
    """Snakemake asks at parse time (device auto): without a GPU driver the answer costs no torch import."""
    code = (
        "import sys\nfrom transferlab.training import devices\ndevices.GPU_DRIVER_FILES = ()\n"
        "print(devices.cuda_available(), 'torch' in sys.modules)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == [
        "False",
        "False",
    ]
    import torch

    monkeypatch.setattr(devices, "GPU_DRIVER_FILES", (str(tmp_path),))
    for cuda in (True, False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
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


# ------------------------------------------------------------------ several GPUs in one allocation
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


# ------------------------------------------------------------------ a job's device (evaluation, CKA, preflight)
def _mock_cuda(monkeypatch, n, uuids=None, available=True):
    """torch.cuda as on a machine with ``n`` visible GPUs of these UUIDs; returns the set_device calls."""
    import types

    import torch

    uuids = uuids or [f"GPU-{i:04d}" for i in range(n)]
    current = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: types.SimpleNamespace(uuid=uuids[i]))
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: current.append(str(d)))
    return current


def test_a_job_claims_its_gpu_by_uuid_and_releases_it(tmp_path, monkeypatch):
    """Two GPUs shared by one allocation's jobs (no scheduler isolation): the job locks the first free one by
    its UUID, makes it current, holds it for the block (another job gets the other), and frees it after."""
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    current = _mock_cuda(monkeypatch, 2, ["GPU-aaaa", "GPU-bbbb"])
    with devices.job_device("cuda", io.StringIO(), tmp_path) as dev:
        assert dev == "cuda:0" and current == ["cuda:0"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu-GPU-aaaa.lock", "gpu-GPU-bbbb.lock"]
        other = claim_device("cuda", tmp_path, timeout_s=0.2, poll_s=0.05)
        assert other.device == "cuda:1"  # GPU-aaaa is held by the block
        other.release()
    assert claim_device("cuda", tmp_path, timeout_s=0.2, poll_s=0.05).device == "cuda:0"  # released


def test_a_job_releases_its_gpu_when_it_fails(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    _mock_cuda(monkeypatch, 1)
    with pytest.raises(ZeroDivisionError):
        with devices.job_device("cuda", io.StringIO(), tmp_path):
            raise ZeroDivisionError("the job's own failure")
    assert claim_device("cuda", tmp_path, n_devices=1, uuids=["GPU-0000"], timeout_s=0.2).device == "cuda:0"


def test_a_slurm_job_takes_the_gpu_slurm_gave_it_without_a_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")  # Slurm's --gpus=1: one device, index 0 in the job
    current = _mock_cuda(monkeypatch, 1)
    with devices.job_device("cuda", io.StringIO(), tmp_path / "locks") as dev:
        assert dev == "cuda:0" and current == ["cuda:0"]
    assert not (tmp_path / "locks").exists()


def test_a_job_without_cuda_runs_on_the_cpu_or_says_why_not(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    current = _mock_cuda(monkeypatch, 0, available=False)
    with devices.job_device("auto", io.StringIO(), tmp_path) as dev:
        assert dev == "cpu"
    with devices.job_device("cpu", io.StringIO(), tmp_path) as dev:
        assert dev == "cpu"
    with pytest.raises(
        NoFreeDevice,
        match=r"device 'cuda' was requested but torch sees no CUDA device here "
        r"\(CUDA_VISIBLE_DEVICES ''\)",
    ):
        with devices.job_device("cuda", io.StringIO(), tmp_path):
            pass
    assert current == [] and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "device, cluster_gpus, cuda_here, cluster, says",
    [
        ("auto", None, False, True, True),  # the login node of a GPU or CPU cluster: not said, so say it
        ("auto", None, False, False, False),  # a laptop: nothing to say
        ("auto", None, True, True, False),  # the submit host sees CUDA
        ("auto", True, False, True, False),
        ("auto", False, False, True, False),  # said
        ("cuda", None, False, True, False),
        ("cpu", None, False, True, False),  # an explicit device
    ],
)
def test_the_cpu_training_note_is_for_an_unsaid_cluster_fallback_only(device, cluster_gpus, cuda_here, cluster, says):
    note = devices.cpu_training_note(device, cluster_gpus, cuda_here, cluster)
    assert (note is not None) == says
    if says:
        assert note.startswith("note: training will run on CPUs") and "--config cluster_gpus=true" in note
        assert "\n" not in note


def test_auto_threads_share_the_cores_between_the_gpus():
    """threads_per_job auto: --cores 8 --resources gpu=4 gives 2 threads a job (four run at once, where 8
    threads let one run); a number is taken as it is; on the CPU auto is 1."""
    assert devices.job_threads("auto", "cuda", 8, 4) == 2
    assert devices.job_threads("auto", "cuda", 32, 4) == 8
    assert devices.job_threads("auto", "cuda", 2, 4) == 1
    assert devices.job_threads("auto", "cuda", 8, None) == 8  # no gpu resource: a job may take every core
    assert devices.job_threads("auto", "cpu", 8, 4) == 1
    assert devices.job_threads(8, "cuda", 8, 4) == 8
    assert devices.job_threads("auto", "cuda", None, 4) == 1


def test_auto_workers_are_the_threads_but_one_on_a_gpu():
    assert devices.loader_workers("auto", "cuda:1", 2) == 1
    assert devices.loader_workers("auto", "cuda", 8) == 7
    assert devices.loader_workers("auto", "cuda", 1) == 1
    assert devices.loader_workers("auto", "cpu", 8) == 0
    assert devices.loader_workers(3, "cpu", 1) == 3


def test_a_slurm_job_takes_the_cpus_its_allocation_grants():
    """In a job Snakemake's Slurm executor submitted, the threads are SLURM_CPUS_PER_TASK (Snakemake's own count
    there is capped by the submit host's --cores); a local run, even inside an salloc, keeps Snakemake's."""
    slurm = {"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "8", devices.REMOTE_JOB_ENV: "1"}
    assert devices.granted_threads(2, slurm) == 8
    assert devices.granted_threads(2, {k: v for k, v in slurm.items() if k != devices.REMOTE_JOB_ENV}) == 2
    assert devices.granted_threads(2, {k: v for k, v in slurm.items() if k != "SLURM_JOB_ID"}) == 2
    assert devices.granted_threads(3, {**slurm, "SLURM_CPUS_PER_TASK": ""}) == 3
    assert devices.granted_threads(0, {}) == 1
