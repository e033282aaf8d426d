"""Which GPU a training job uses.

The detail: docs/library.md, `transferlab/training/devices.py`."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

from transferlab.errors import NoFreeDevice

# Present where a GPU driver is: NVIDIA (/proc/driver/nvidia, /dev/nvidiactl), WSL2 (/dev/dxg), ROCm (/dev/kfd).
GPU_DRIVER_FILES = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/dxg", "/dev/kfd")


def cuda_available() -> bool:
    """Whether torch sees a CUDA device here; imports torch (seconds) only where a GPU driver is present."""
    if not any(os.path.exists(p) for p in GPU_DRIVER_FILES):
        return False
    import torch

    return torch.cuda.is_available()


def scheduler_assigned(n_devices: int | None = None) -> bool:
    """True when a scheduler gave this job its own device: CUDA_VISIBLE_DEVICES set inside a Slurm job (or
    with TRANSFERLAB_GPU_ISOLATED) and naming one device.  Several visible devices (one ``salloc`` with four
    GPUs and Snakemake's local executor inside it) are shared by the jobs there, so they are claimed."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    isolated = bool(visible) and bool(os.environ.get("SLURM_JOB_ID") or os.environ.get("TRANSFERLAB_GPU_ISOLATED"))
    count = len([v for v in visible.split(",") if v.strip()]) if n_devices is None else n_devices
    return isolated and count == 1


DEFAULT_LOCK_DIR = "/tmp/transferlab-gpu-locks"  # one folder for every user and job ($TMPDIR differs per job)


def lock_dir_default() -> str:
    return os.environ.get("TRANSFERLAB_GPU_LOCK_DIR") or DEFAULT_LOCK_DIR


def device_uuids(n: int) -> list[str] | None:
    """The UUID of each visible CUDA device (the same physical GPU has the same UUID whatever its index in
    this process's CUDA_VISIBLE_DEVICES), or None where torch cannot tell."""
    try:
        import torch

        return [str(torch.cuda.get_device_properties(i).uuid) for i in range(n)]
    except (AttributeError, RuntimeError, AssertionError):
        return None


def cluster_gpus_setting(value) -> bool | None:
    """Config ``cluster_gpus`` as a bool or None (``--config cluster_gpus=true`` gives the string)."""
    return {"true": True, "false": False}.get(value, value)


def resolve_device(device: str, cluster_gpus=None) -> str:
    """What the workflow plans for its GPU jobs (asked once, where it is parsed). ``auto``: cuda where
    ``cluster_gpus`` (config) says the cluster's jobs get GPUs (true) and cpu where it says they do not (false);
    unset, cuda where the machine parsing the workflow has CUDA, else cpu (a job on a cluster node parses it
    there, so a GPU allocated to it counts)."""
    cluster_gpus = cluster_gpus_setting(cluster_gpus)
    if device != "auto":
        return device
    if cluster_gpus is not None:
        return "cuda" if cluster_gpus else "cpu"
    return "cuda" if cuda_available() else "cpu"


def cpu_training_note(device: str, cluster_gpus, cuda_here: bool, submits_to_cluster: bool) -> str | None:
    """The note a cluster run prints once at its start when ``device: auto`` falls back to the CPU only because
    the submit host has no CUDA (the usual login node), with how to ask for GPUs; None where nothing is left
    unsaid (an explicit device, ``cluster_gpus`` set, CUDA here, or no cluster)."""
    cluster_gpus = cluster_gpus_setting(cluster_gpus)
    if device != "auto" or cluster_gpus is not None or cuda_here or not submits_to_cluster:
        return None
    return (
        "note: training will run on CPUs: device is auto and this submit host has no CUDA, so the training, "
        "evaluation and CKA jobs ask the cluster for no GPU. If its nodes have GPUs, add "
        "--config cluster_gpus=true (or cluster_gpus: true in a config file): each of those jobs then asks for "
        "one (gpu=1, --gpus=1). On a CPU cluster, cluster_gpus: false says so and silences this note."
    )


class DeviceClaim:
    def __init__(self, device: str, handle=None):
        self.device = device
        self._handle = handle

    def release(self):
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.release()


def claim_device(
    requested: str,
    lock_dir,
    n_devices: int | None = None,
    timeout_s: float = 3600.0,
    poll_s: float = 2.0,
    log=None,
    uuids: list[str] | None = None,
) -> DeviceClaim:
    """Claim ``requested`` ('cpu', 'cuda' or 'cuda:N'; :func:`job_device` resolves 'auto') as a concrete device.

    Locks are named by each device's UUID (``gpu-<uuid>.lock``), so two runs that see the GPUs in
    different orders (different CUDA_VISIBLE_DEVICES) still never share one; where no UUID is known the
    visible index names the lock (``gpu<i>.lock``)."""
    log = log or sys.stderr
    if requested == "cpu" or (requested.startswith("cuda:")):
        return DeviceClaim(requested)
    if requested != "cuda":
        raise ValueError(f"claim_device takes 'cpu', 'cuda' or 'cuda:N', got {requested!r}")
    if n_devices is None:
        import torch

        n_devices = torch.cuda.device_count()
    if n_devices == 0:
        raise NoFreeDevice("device 'cuda' was requested but no CUDA device is visible")
    if scheduler_assigned(n_devices):
        return DeviceClaim("cuda:0")
    if uuids is None and n_devices and _torch_sees(n_devices):
        uuids = device_uuids(n_devices)
    names = [f"gpu-{u}.lock" for u in uuids] if uuids else [f"gpu{i}.lock" for i in range(n_devices)]
    lock_dir = Path(lock_dir)
    try:
        fds = _open_locks(lock_dir, names, 0o1777)
    except OSError as e:
        fallback = Path(tempfile.gettempdir()) / f"transferlab-gpu-locks-{os.getuid()}"
        print(
            f"warning: GPU lock folder {lock_dir} is not usable ({e}); using {fallback}, so this job's GPU "
            "claim is not coordinated with other users' jobs. Make the folder writable for all (chmod 1777) "
            "or set TRANSFERLAB_GPU_LOCK_DIR to a folder every user can write.",
            file=log,
            flush=True,
        )
        lock_dir = fallback
        fds = _open_locks(lock_dir, names, 0o700)
    claimed = None
    deadline = time.time() + timeout_s
    try:
        while (claimed := _lock_first_free(fds)) is None:
            if time.time() >= deadline:
                raise NoFreeDevice(f"all {n_devices} GPUs stayed busy for {timeout_s:.0f} s (locks in {lock_dir})")
            time.sleep(poll_s)
    finally:
        for i, fd in enumerate(fds):
            if i != claimed:
                os.close(fd)
    with contextlib.suppress(OSError):  # the pid is a courtesy; a read-only descriptor cannot write it
        os.ftruncate(fds[claimed], 0)
        os.pwrite(fds[claimed], f"{os.getpid()}\n".encode(), 0)
    print(f"claimed cuda:{claimed} (lock {lock_dir / names[claimed]})", file=log, flush=True)
    return DeviceClaim(
        f"cuda:{claimed}", os.fdopen(fds[claimed], "rb", buffering=0)
    )  # closed, so unlocked, with the claim


def amp_context(mode: str, device: str):
    """The autocast context of ``train.amp`` on ``device``: bf16 on CUDA with ``auto``, nothing on the CPU."""
    import contextlib

    import torch

    from transferlab.errors import ConfigError

    if mode == "off" or (mode == "auto" and not device.startswith("cuda")):
        return contextlib.nullcontext()
    if mode not in ("auto", "bf16"):
        raise ConfigError(f"train.amp must be 'auto', 'bf16' or 'off', got {mode!r}")
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)


@contextlib.contextmanager
def training_device(device: str, deterministic: bool, cudnn_benchmark: bool, threads: int, log):
    """:func:`job_device`, then the training switches: threads, determinism (the CPU is always deterministic)
    and, on CUDA, cuDNN and TF32. Use as ``with training_device(...) as device``; the GPU is held until the
    block ends, normally or not."""
    import torch

    with job_device(device, log) as device:
        deterministic = device == "cpu" or deterministic
        if device.startswith("cuda"):
            if deterministic:  # read when cuBLAS creates its handle: before the first matmul
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = cudnn_benchmark and not deterministic
            torch.backends.cudnn.deterministic = deterministic
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        torch.set_num_threads(max(1, int(threads)))
        torch.use_deterministic_algorithms(deterministic, warn_only=device == "cpu")
        # the NaN-filling of every fresh allocation that comes with deterministic mode costs ~7% of a CPU
        # step and changes no result (no kernel here reads memory it did not write)
        torch.utils.deterministic.fill_uninitialized_memory = False
        yield device


@contextlib.contextmanager
def job_device(requested: str, log=None, lock_dir=None):
    """The device a job runs on, held for the ``with`` block: ``requested`` as the workflow resolved it
    ('cpu', 'cuda', 'cuda:N'; 'auto' = cuda where torch sees it). On CUDA the GPU is claimed as a training
    job claims it (:func:`claim_device`: the one a scheduler assigned, else a free one locked by UUID), made
    the current device, and released when the block ends."""
    log = log or sys.stderr
    if requested != "cpu":
        import torch

        if requested == "auto":
            requested = "cuda" if torch.cuda.is_available() else "cpu"
        elif not torch.cuda.is_available():
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            raise NoFreeDevice(
                f"device {requested!r} was requested but torch sees no CUDA device here "
                f"(CUDA_VISIBLE_DEVICES {'unset' if visible is None else repr(visible)}); expected "
                "a GPU job on a machine with a working NVIDIA driver"
            )
    with claim_device(requested, lock_dir or lock_dir_default(), log=log) as claim:
        if claim.device.startswith("cuda"):
            torch.cuda.set_device(torch.device(claim.device))
        yield claim.device


def _torch_sees(n: int) -> bool:
    """Whether torch's CUDA can be asked about ``n`` devices here (not in tests that mock the count)."""
    try:
        import torch

        return torch.cuda.is_available() and torch.cuda.device_count() >= n
    except Exception:  # noqa: BLE001 -- a broken driver must not stop the claim
        return False


def _open_locks(lock_dir: Path, names: list[str], dir_mode: int) -> list[int]:
    """Descriptors of ``lock_dir/<name>`` for each name, creating the folder (``dir_mode``) and files (0o666)."""
    try:
        lock_dir.mkdir(parents=True)
        os.chmod(lock_dir, dir_mode)  # explicitly: mkdir's mode is cut by the umask
    except FileExistsError:
        pass
    fds = []
    try:
        for name in names:
            fds.append(_open_lock(lock_dir / name))
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def _open_lock(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        # no O_CREAT here: with it Linux's fs.protected_regular refuses other users' files in a sticky folder
        try:
            return os.open(path, os.O_RDWR)
        except PermissionError:
            return os.open(path, os.O_RDONLY)  # flock works on read-only descriptors too
    os.fchmod(fd, 0o666)  # explicitly: the create mode is cut by the umask
    return fd


def _lock_first_free(fds: list[int]) -> int | None:
    """Index of the first descriptor this process could lock exclusively, or None."""
    for i, fd in enumerate(fds):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return i
        except BlockingIOError:
            pass
    return None


# ----------------------------------------------------------------------------- host threads
def job_threads(setting, device: str, cores: int | None, gpus: int | None) -> int:
    """Snakemake's threads for a training or CKA job: ``threads_per_job`` when it is a number; ``auto`` on
    CUDA gives each GPU an equal share of ``--cores`` (``cores // gpus``, at least 1), so that
    ``--cores 8 --resources gpu=4`` runs four jobs at once with 2 threads each, and without a ``gpu``
    resource one job may take every core; ``auto`` on the CPU is 1 (jobs side by side beat threads here:
    BENCHMARKS.md)."""
    if setting != "auto":
        return max(1, int(setting))
    if not device.startswith("cuda"):
        return 1
    cores = int(cores) if cores else 1
    return max(1, cores // max(1, int(gpus))) if gpus else max(1, cores)


REMOTE_JOB_ENV = "TRANSFERLAB_REMOTE_JOB"  # set by the workflow where it runs as a job of a cluster executor


def granted_threads(threads: int, environ=None) -> int:
    """The threads a running job may use: in a job that Snakemake's Slurm executor submitted, the CPUs the
    allocation grants each task (``SLURM_CPUS_PER_TASK``: the profile's ``cpus_per_task``), since the threads
    Snakemake computes there are capped by the submit host's ``--cores``; elsewhere (a local run, also one
    inside an ``salloc``, whose jobs share the allocation) Snakemake's ``threads``."""
    env = os.environ if environ is None else environ
    remote = env.get(REMOTE_JOB_ENV) and env.get("SLURM_JOB_ID")
    granted = env.get("SLURM_CPUS_PER_TASK", "") if remote else ""
    return int(granted) if granted.strip().isdigit() and int(granted) > 0 else max(1, int(threads))


def loader_workers(setting, device: str, threads: int) -> int:
    """DataLoader worker processes of a training job: ``train.workers`` when it is a number; ``auto`` on CUDA
    is every thread of the job but the one that runs the step (``threads - 1``, at least 1), on the CPU 0
    (the trainer builds its own batches: workers would only compete with it for the cores)."""
    if setting != "auto":
        return max(0, int(setting))
    return max(1, int(threads) - 1) if device.startswith("cuda") else 0
