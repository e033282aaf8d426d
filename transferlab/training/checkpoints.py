"""A training job's resumable state on disk: written so that a kill at any instant leaves a complete one.

The detail: docs/library.md, `transferlab/training/checkpoints.py`."""

from __future__ import annotations

import os
from pathlib import Path

from transferlab import io as tio

CHECKPOINTS = ("ckpt.next.pt", "ckpt.pt", "ckpt.prev.pt")  # newest first, as save leaves them


def load(state_dir: Path, fingerprint: str, log):
    """``(state, path)`` of the newest complete checkpoint written with ``fingerprint``; None if there is none
    (or the newest was written with other settings: the run starts from scratch)."""
    for name in CHECKPOINTS:
        path = Path(state_dir) / name
        if not path.exists():
            continue
        try:
            state = tio.load_torch(path)
        except tio.CorruptCheckpoint as e:
            print(f"WARNING: {e}; trying an older checkpoint", file=log, flush=True)
            continue
        if state.get("fingerprint") != fingerprint:
            print(f"WARNING: {path} was written with other settings; starting from scratch", file=log, flush=True)
            return None
        return state, path
    return None


def _rotate(src: Path, dst: Path) -> None:
    if src.exists():
        os.replace(src, dst)
    side = tio.sidecar_of(src)
    if side.exists():
        os.replace(side, tio.sidecar_of(dst))


def save(state_dir: Path, state: dict) -> None:
    """Write a checkpoint so that a kill at any instant leaves at least one complete, verifiable one."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    tio.save_torch(state, state_dir / "ckpt.next.pt")
    _rotate(state_dir / "ckpt.pt", state_dir / "ckpt.prev.pt")
    _rotate(state_dir / "ckpt.next.pt", state_dir / "ckpt.pt")


def remove(state_dir: Path) -> None:
    """Every checkpoint and side file (the run has written its final outputs)."""
    for name in CHECKPOINTS:
        (Path(state_dir) / name).unlink(missing_ok=True)
        tio.sidecar_of(Path(state_dir) / name).unlink(missing_ok=True)
