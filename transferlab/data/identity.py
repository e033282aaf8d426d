"""Where a run's raw data is, and what it is: an identity from the data's content, never from its path, so a copy
of the same archive elsewhere is the same data and a different or damaged one is not.

The detail: docs/library.md, `transferlab/data/identity.py`."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from transferlab.errors import DatasetError
from transferlab.io import atomic_write_json

TINY_DEFAULT = "data/raw/tiny-imagenet-200.zip"  # where `make run` downloads Tiny ImageNet when no copy is given
CACHE = ".snakemake/transferlab-identity.json"  # identities already computed, by path, size and mtime
_MD5_BLOCK = 8 << 20


def source_path(dataset: str, config: dict, environ=os.environ) -> str:
    """The raw data a config reads: ``<dataset>_root`` for ImageNet and image folders; for Tiny ImageNet
    ``tiny_imagenet_path``, else ``$TINY_IMAGENET_PATH``, else :data:`TINY_DEFAULT` (downloaded if absent)."""
    if dataset in ("imagenet", "imagefolder"):
        return str(config[f"{dataset}_root"])
    user = config.get("tiny_imagenet_path") or environ.get("TINY_IMAGENET_PATH", "")
    if user and not os.path.exists(user):
        raise DatasetError(
            f"tiny_imagenet_path={user!r} does not exist; expected tiny-imagenet-200.zip or its extracted folder"
        )
    return user or TINY_DEFAULT


def _load_cache(cache: Path) -> dict:
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(_MD5_BLOCK):
            h.update(block)
    return h.hexdigest()


def _manifest(root: Path) -> list[tuple[str, int]]:
    """Every file under ``root`` as (relative path, size), sorted."""
    files, stack = [], [root]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.is_dir(follow_symlinks=True):
                    stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=True):
                    files.append((Path(e.path).relative_to(root).as_posix(), e.stat().st_size))
    return sorted(files)


def data_identity(path, cache=CACHE) -> str:
    """``md5:<hex>`` of an archive, hashed once per (path, size, mtime); ``files:<sha256 prefix>`` of a folder's
    manifest (every file's relative path and size, never its bytes), listed each time: a file replaced in place
    leaves its folder's mtime alone, so no cheaper key would see it."""
    path = Path(path)
    if path.is_dir():
        return "files:" + hashlib.sha256(json.dumps(_manifest(path)).encode()).hexdigest()[:24]
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; expected the dataset's archive or folder")
    real, cache = str(path.resolve()), Path(cache)
    known = _load_cache(cache)
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns]
    if (hit := known.get(real)) and hit["stamp"] == stamp:
        return hit["identity"]
    identity = "md5:" + _md5(path)
    known[real] = {"stamp": stamp, "identity": identity}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cache, known)
    except OSError:
        pass  # a read-only working folder: the archive is hashed again next time
    return identity


def _official() -> str:
    from transferlab.data.datasets import TINY_MD5

    return f"md5:{TINY_MD5}"


def _to_download(dataset: str, path: str) -> bool:
    return dataset == "tiny-imagenet" and path == TINY_DEFAULT and not os.path.exists(path)


def run_data_identity(dataset: str, path: str, cache=CACHE, recorded: str | None = None) -> str:
    """The identity of the data a run reads. Tiny ImageNet still to be downloaded: the official archive's (the
    download checks its MD5), or, for a run that recorded another identity (``recorded``), that one, so that
    redrawing a copied run without its data plans nothing new (a job that needs the data then says where to
    give it)."""
    if _to_download(dataset, path):
        return recorded or _official()
    return data_identity(path, cache)


def ensure_source(dataset: str, path: str) -> str:
    """The path of the data, downloading Tiny ImageNet first when it is the default path and absent."""
    if dataset == "tiny-imagenet" and path == TINY_DEFAULT and not os.path.exists(path):
        from transferlab.data.datasets import TINY_MD5, TINY_SIZE, TINY_URL, download

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        download(TINY_URL, Path(path), md5=TINY_MD5, size=TINY_SIZE)
    return path


def checked_source(dataset: str, config: dict, expected: str) -> str:
    """In a job: the data's path (downloaded first if it is the default and absent), after checking that it is
    still the data the workflow planned with (a path can be repointed between planning and the job)."""
    path = source_path(dataset, config)
    if _to_download(dataset, path) and expected != _official():
        raise DatasetError(
            f"this run was made from data with identity {expected}, which is not at {path} (the official archive "
            "would be downloaded there): give its path with --config tiny_imagenet_path=<zip or folder>"
        )
    path = ensure_source(dataset, path)
    got = run_data_identity(dataset, path)
    if got != expected:
        raise DatasetError(
            f"the data at {path} is {got}, but the workflow was planned with {expected}: the data changed while "
            "the run was going on; run Snakemake again"
        )
    return path
