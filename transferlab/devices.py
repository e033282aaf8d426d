"""Which GPU a training job uses.

Snakemake's ``--resources gpu=4`` only caps how many GPU jobs run at once; it does
not say which device each gets.  A job asking for ``cuda`` therefore claims a free
device itself: under a scheduler that isolates GPUs (Slurm with ``--gpus``/``--gres``
sets ``CUDA_VISIBLE_DEVICES`` per job) the job takes the first visible device;
otherwise it takes an exclusive ``flock`` on ``<lock_dir>/gpu<i>.lock`` for the
first free ``i`` and holds it until the process exits.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path


class NoFreeDevice(RuntimeError):
    pass


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
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + timeout_s
    while True:
        for i in range(n_devices):
            f = open(lock_dir / f"gpu{i}.lock", "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            f.seek(0)
            f.truncate()
            f.write(f"{os.getpid()}\n")
            f.flush()
            print(f"claimed cuda:{i} (lock {lock_dir / f'gpu{i}.lock'})", file=log, flush=True)
            return DeviceClaim(f"cuda:{i}", f)
        if time.time() >= deadline:
            raise NoFreeDevice(f"all {n_devices} GPUs stayed busy for {timeout_s:.0f} s (locks in {lock_dir})")
        time.sleep(poll_s)
