"""Atomic file writes, checksummed checkpoints, provenance helpers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
from pathlib import Path

from transferlab.errors import CorruptCheckpoint

# torch is imported where it is used: the Snakefile imports this module to hash configs, and every
# cluster job parses the Snakefile (twice under the Slurm plugin), so a module-level torch import
# would cost every job ~1.3 s.


@contextlib.contextmanager
def atomic_path(final):
    """Yield a temporary path beside ``final``; move it into place only on success.

    The file gets the mode a plain ``open(final, "w")`` would give (0o666 less the umask, or the
    folder's default ACL), not ``tempfile.mkstemp``'s 0o600, so a shared project folder stays readable.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def config_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=_json_default).encode()).hexdigest()[:12]


def uncommitted_changes(here=None) -> list[str]:
    """The tracked files of the project (or of the repository at ``here``) that differ from its commit (git status),
    or [] where git cannot say."""
    here = Path(here) if here else Path(__file__).resolve().parent
    try:
        r = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line[3:] for line in r.stdout.splitlines() if line.strip()] if r.returncode == 0 else []


def code_revision() -> str:
    """git commit of the project (with '-dirty' if modified), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for buf in iter(lambda: f.read(1 << 20), b""):
            h.update(buf)
    return h.hexdigest()


def sidecar_of(path) -> Path:
    """Where :func:`save_torch` keeps the checksum of ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def save_torch(obj, path) -> None:
    """torch.save atomically, with a sidecar ``.sha256`` written after the file; an earlier sidecar goes
    before the file is replaced, so a checksum beside the file is never another version's."""
    import torch

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
        digest = sha256_file(tmp)
        sidecar_of(path).unlink(missing_ok=True)
    atomic_write_text(sidecar_of(path), digest + "\n")


def load_torch(path, verify: bool = True):
    """Load a checkpoint written by :func:`save_torch`; raise ``CorruptCheckpoint`` if damaged."""
    import torch

    path = Path(path)
    if verify:
        side = sidecar_of(path)
        if not side.exists():
            raise CorruptCheckpoint(f"{path}: no checksum file {side.name}")
        if side.read_text().strip() != sha256_file(path):
            raise CorruptCheckpoint(f"{path}: checksum mismatch (truncated or corrupt)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means corrupt
        raise CorruptCheckpoint(f"{path}: cannot be read ({e})") from e
