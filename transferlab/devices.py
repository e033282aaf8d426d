"""Which GPU a training job uses.

Snakemake's ``--resources gpu=4`` only caps how many GPU jobs run at once; it does
not say which device each gets.  A job asking for ``cuda`` therefore claims a free
device itself: under a scheduler that isolates GPUs (Slurm with ``--gpus``/``--gres``
sets ``CUDA_VISIBLE_DEVICES`` per job) the job takes the first visible device;
otherwise it takes an exclusive ``flock`` on ``<lock_dir>/gpu<i>.lock`` for the
first free ``i`` and holds it until the process exits.

Several users share one lock folder: it is created world-writable with the sticky bit
(0o1777, like /tmp) and its lock files 0o666; a lock file another user made read-only is
locked through a read-only descriptor.  If the folder still cannot be used (say an older
version created it 0o755), the job warns once and falls back to a per-user folder
``$TMPDIR/transferlab-gpu-locks-<uid>``: it then coordinates only with that user's jobs.

``cuda_available`` is what the workflow asks when it is parsed: with ``device: auto`` training jobs
declare ``gpu=1`` and train on CUDA where it says yes, and declare ``gpu=0`` and train on the CPU elsewhere.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path


class NoFreeDevice(RuntimeError):
    pass


# Present where a GPU driver is: NVIDIA (/proc/driver/nvidia, /dev/nvidiactl), WSL2 (/dev/dxg), ROCm (/dev/kfd).
GPU_DRIVER_FILES = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/dxg", "/dev/kfd")


def cuda_available() -> bool:
    """Whether torch sees a CUDA device here; imports torch (seconds) only where a GPU driver is present."""
    if not any(os.path.exists(p) for p in GPU_DRIVER_FILES):
        return False
    import torch

    return torch.cuda.is_available()


def scheduler_assigned() -> bool:
    """True when a scheduler gave this job its own devices."""
    return bool(os.environ.get("CUDA_VISIBLE_DEVICES")) and bool(
        os.environ.get("SLURM_JOB_ID") or os.environ.get("TRANSFERLAB_GPU_ISOLATED"))


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


def claim_device(requested: str, lock_dir, n_devices: int | None = None, timeout_s: float = 3600.0,
                 poll_s: float = 2.0, log=None) -> DeviceClaim:
    """Resolve ``requested`` ('cpu', 'cuda', 'cuda:N', 'auto') to a concrete device."""
    log = log or sys.stderr
    if requested == "cpu" or (requested.startswith("cuda:")):
        return DeviceClaim(requested)
    if n_devices is None:
        import torch

        n_devices = torch.cuda.device_count()
    if requested == "auto" and n_devices == 0:
        return DeviceClaim("cpu")
    if n_devices == 0:
        raise NoFreeDevice("device 'cuda' was requested but no CUDA device is visible")
    if scheduler_assigned():
        return DeviceClaim("cuda:0")
    lock_dir = Path(lock_dir)
    try:
        fds = _open_locks(lock_dir, n_devices, 0o1777)
    except OSError as e:
        fallback = Path(tempfile.gettempdir()) / f"transferlab-gpu-locks-{os.getuid()}"
        print(f"warning: GPU lock folder {lock_dir} is not usable ({e}); using {fallback}, so this job's GPU "
              "claim is not coordinated with other users' jobs. Make the folder writable for all (chmod 1777) "
              "or set TRANSFERLAB_GPU_LOCK_DIR to a folder every user can write.", file=log, flush=True)
        lock_dir = fallback
        fds = _open_locks(lock_dir, n_devices, 0o700)
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
    print(f"claimed cuda:{claimed} (lock {lock_dir / f'gpu{claimed}.lock'})", file=log, flush=True)
    return DeviceClaim(f"cuda:{claimed}", os.fdopen(fds[claimed], "rb", buffering=0))  # closed, so unlocked, with the claim


def _open_locks(lock_dir: Path, n: int, dir_mode: int) -> list[int]:
    """Descriptors of ``lock_dir/gpu<i>.lock`` for i < n, creating the folder (``dir_mode``) and files (0o666)."""
    try:
        lock_dir.mkdir(parents=True)
        os.chmod(lock_dir, dir_mode)  # explicitly: mkdir's mode is cut by the umask
    except FileExistsError:
        pass
    fds = []
    try:
        for i in range(n):
            fds.append(_open_lock(lock_dir / f"gpu{i}.lock"))
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
