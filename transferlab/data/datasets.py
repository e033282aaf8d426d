"""Datasets: locate, download, validate, and decode once into uint8 arrays.

Three sources are supported:

The detail: docs/library.md, `transferlab/data/datasets.py`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from transferlab.data import encoded
from transferlab.errors import DatasetError
from transferlab.io import atomic_path, atomic_write_json

TINY_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_SIZE = 248_100_043
TINY_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
WNID_RE = re.compile(r"^n\d{8}$")


def is_wnid(name: str) -> bool:
    """Whether a class name is a WordNet noun id (n + 8 digits), as the natural/man-made rule needs."""
    return bool(WNID_RE.match(name))


IMAGE_EXT = (".jpeg", ".jpg", ".png")


def _num_key(name: str):
    m = re.search(r"_(\d+)\.[A-Za-z]+$", name)
    return (int(m.group(1)) if m else -1, name)


# ----------------------------------------------------------------------------- download
def download(url: str, dest: Path, md5: str | None = None, size: int | None = None, timeout_s: float = 60) -> Path:
    """Download ``url`` with torchvision's downloader (progress bar on stderr) to ``dest``: the file
    appears there only once its size and MD5 are checked."""
    from torchvision.datasets.utils import calculate_md5, check_integrity, download_url

    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".part")
    tmp.unlink(missing_ok=True)  # download_url would take a leftover partial file for a finished one
    default_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)  # download_url sets none: a network that drops packets would hang it
    try:
        try:
            download_url(url, dest.parent, tmp.name)
        except OSError as e:
            raise DatasetError(
                f"could not download {url} ({e}). Download it by hand and give its path with "
                f"--config tiny_imagenet_path=/path/to/tiny-imagenet-200.zip, or place it at {dest}"
            ) from e
        if size is not None and (got := tmp.stat().st_size) != size:
            raise DatasetError(f"download of {url} has {got} bytes, expected {size}")
        if not check_integrity(tmp, md5):
            raise DatasetError(f"download of {url} has MD5 {calculate_md5(tmp)}, expected {md5}")
        os.replace(tmp, dest)
    finally:
        socket.setdefaulttimeout(default_timeout)
        tmp.unlink(missing_ok=True)
    return dest


# ----------------------------------------------------------------------------- sources
class Source:
    """Common interface: class list, per-class train members, val members, bytes."""

    name = "?"

    def wnids(self) -> list[str]:
        raise NotImplementedError

    def train_members(self, wnid: str) -> list[str]:
        raise NotImplementedError

    def val_members(self) -> dict[str, list[str]]:
        raise NotImplementedError

    def read(self, member: str) -> bytes:
        raise NotImplementedError

    def describe(self) -> str:
        return str(self.path)

    def fingerprints(self, members: list[str]) -> list:
        """What each member is without reading it (its size here; a zip adds its CRC): the key a part of the
        preparation resumes under, so a file changed elsewhere in the data leaves a finished part valid."""
        return [os.stat(self._file(m)).st_size for m in members]

    def _file(self, member: str) -> Path:
        return self.path / member

    def validate(self) -> None:
        """Check what opening the source did not (a no-op where opening checked everything)."""


class TinyImageNet(Source):
    name = "tiny-imagenet"

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetError(
                f"Tiny ImageNet not found at {self.path}: expected tiny-imagenet-200.zip or its extracted folder"
            )
        self._zip = None
        if self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
                names = self._zip.namelist()
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise DatasetError(
                    f"{self.path} is not a readable zip archive ({e}); expected the official tiny-imagenet-200.zip"
                ) from e
            wn = [n for n in names if n.endswith("wnids.txt")]
            if not wn:
                raise DatasetError(
                    f"{self.path} holds no wnids.txt: expected the official Tiny ImageNet layout "
                    "(tiny-imagenet-200/wnids.txt, train/, val/)"
                )
            self._prefix = min(wn, key=len)[: -len("wnids.txt")]
            self._names = [n for n in names if n.startswith(self._prefix)]
        else:
            root = self.path
            if not (root / "wnids.txt").exists() and (root / "tiny-imagenet-200" / "wnids.txt").exists():
                root = root / "tiny-imagenet-200"
            if not (root / "wnids.txt").exists():
                raise DatasetError(
                    f"{self.path} holds no wnids.txt: expected the official Tiny ImageNet layout "
                    "(wnids.txt, train/, val/)"
                )
            self._root = root
            self._prefix = ""
            self._names = None
        self._index()

    def _list(self) -> list[str]:
        if self._zip is not None:
            return [n[len(self._prefix) :] for n in self._names]
        out = []
        for d, _, files in os.walk(self._root):
            rel = os.path.relpath(d, self._root)
            for f in files:
                out.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
        return out

    def read(self, member: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + member)
        return (self._root / member).read_bytes()

    def fingerprints(self, members):
        if self._zip is not None:
            infos = [self._zip.getinfo(self._prefix + m) for m in members]
            return [[i.file_size, i.CRC] for i in infos]
        return super().fingerprints(members)

    def _file(self, member):
        return self._root / member

    def _index(self):
        names = self._list()
        wnids = [w.strip() for w in self.read("wnids.txt").decode().split() if w.strip()]
        if not wnids:
            raise DatasetError(f"{self.describe()}: wnids.txt is empty; expected one WordNet id per line")
        bad = [w for w in wnids if not is_wnid(w)]
        if bad:
            raise DatasetError(
                f"{self.describe()}: wnids.txt has entries that are not WordNet ids (n + 8 digits): {bad[:5]}"
            )
        self._wnids = sorted(set(wnids))
        train: dict[str, list[str]] = {w: [] for w in self._wnids}
        for n in names:
            parts = n.split("/")
            if (
                len(parts) == 4
                and parts[0] == "train"
                and parts[2] == "images"
                and parts[3].lower().endswith(IMAGE_EXT)
            ):
                if parts[1] in train:
                    train[parts[1]].append(n)
        empty = [w for w, v in train.items() if not v]
        if empty:
            raise DatasetError(
                f"{self.describe()}: no training images for {len(empty)} class(es), e.g. {empty[:3]}; "
                f"expected train/<wnid>/images/<wnid>_<i>.JPEG for every wnid in wnids.txt"
            )
        self._train = {w: sorted(v, key=_num_key) for w, v in train.items()}
        if "val/val_annotations.txt" not in set(names):
            raise DatasetError(
                f"{self.describe()}: missing val/val_annotations.txt; expected the official validation layout"
            )
        have = set(names)
        val: dict[str, list[str]] = {w: [] for w in self._wnids}
        for i, line in enumerate(self.read("val/val_annotations.txt").decode().splitlines()):
            if not line.strip():
                continue
            f = line.split("\t")
            if len(f) < 2:
                f = line.split()
            if len(f) < 2:
                raise DatasetError(
                    f"{self.describe()}: val/val_annotations.txt line {i + 1} is not '<file>\\t<wnid>\\t…': {line!r}"
                )
            member = f"val/images/{f[0]}"
            if f[1] not in val:
                raise DatasetError(
                    f"{self.describe()}: val/val_annotations.txt line {i + 1} names class {f[1]} that is not in "
                    "wnids.txt"
                )
            if member not in have:
                raise DatasetError(
                    f"{self.describe()}: val/val_annotations.txt names {member}, which is not in the archive"
                )
            val[f[1]].append(member)
        self._val = {w: sorted(v, key=_num_key) for w, v in val.items()}

    def wnids(self):
        return list(self._wnids)

    def train_members(self, wnid):
        return self._train[wnid]

    def val_members(self):
        return self._val


class ImageFolder(Source):
    """Images in torchvision ImageFolder layout: ``<root>/train/<class>/<image>`` and
    ``<root>/val/<class>/<image>`` (JPEG or PNG, any size: :func:`decode` warps each to the stored
    square).  Any folder names are classes, sorted; every class of train/ needs a val/ folder and
    both need images.  The folder layout is checked when the source is opened (cheap: it runs when
    Snakemake parses the workflow); the images are listed once, on first use (:meth:`validate`)."""

    name = "imagefolder"
    what = "image folder"  # how errors name the root
    cls = "class"  # how errors name a class folder

    def __init__(self, root):
        self.path = Path(root)
        tr, va = self.path / "train", self.path / "val"
        if not tr.is_dir() or not va.is_dir():
            raise DatasetError(
                f"{self.what} root {self.path} must hold train/<{self.cls}>/*.JPEG and val/<{self.cls}>/*.JPEG "
                f"(torchvision ImageFolder layout); found train/: {tr.is_dir()}, val/: {va.is_dir()}"
            )
        self._wnids = sorted(d.name for d in tr.iterdir() if d.is_dir())
        if not self._wnids:
            raise DatasetError(f"{tr} holds no class folders; expected train/<{self.cls}>/")
        self._check_names(tr)
        missing = [w for w in self._wnids if not (va / w).is_dir()]
        if missing:
            raise DatasetError(
                f"{va}: no validation folder for {len(missing)} class(es) of train/, e.g. {missing[:3]}; "
                f"expected val/<{self.cls}>/ for every train/<{self.cls}>/"
            )
        self._members = None

    def _check_names(self, train_dir: Path) -> None:
        """Any folder name is a class here; ImageNet requires WordNet ids."""

    def _files(self, d: Path) -> list[str]:
        return sorted(
            p.relative_to(self.path).as_posix() for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXT
        )

    def validate(self) -> None:
        """List every class's images once; a class without training or validation images is named."""
        if self._members is not None:
            return
        members = {part: {w: self._files(self.path / part / w) for w in self._wnids} for part in ("train", "val")}
        for part in ("train", "val"):
            empty = [w for w, files in members[part].items() if not files]
            if empty:
                raise DatasetError(
                    f"{self.path / part}: no images for {len(empty)} class(es), e.g. {empty[:3]}; expected "
                    f"{part}/<{self.cls}>/*.JPEG (or .jpg, .png) for every class of train/"
                )
        self._members = members

    def wnids(self):
        return list(self._wnids)

    def train_members(self, wnid):
        self.validate()
        return self._members["train"][wnid]

    def val_members(self):
        self.validate()
        return dict(self._members["val"])

    def read(self, member):
        return (self.path / member).read_bytes()


class ImageFolderNet(ImageFolder):
    """ILSVRC2012 in ImageFolder layout: an image folder whose class folders are WordNet ids."""

    name = "imagenet"
    what = "ImageNet"
    cls = "wnid"

    def _check_names(self, train_dir):
        bad = [w for w in self._wnids if not is_wnid(w)]
        if bad:
            raise DatasetError(f"{train_dir}: class folders that are not WordNet ids (n + 8 digits): {bad[:5]}")


SOURCES = {"tiny-imagenet": TinyImageNet, "imagenet": ImageFolderNet, "imagefolder": ImageFolder}


def open_source(dataset: str, path) -> Source:
    if dataset not in SOURCES:
        raise DatasetError(f"unknown dataset {dataset!r}; expected one of {', '.join(map(repr, SOURCES))}")
    return SOURCES[dataset](path)


# ----------------------------------------------------------------------------- classes
def select_classes(all_wnids: list[str], count: int, seed: int, source: str = "the dataset") -> list[str]:
    """``count`` classes drawn reproducibly (0 or all of them: all), sorted; more than there are is an error."""
    wnids = sorted(all_wnids)
    if count > len(wnids):
        raise DatasetError(
            f"data.classes={count}, but {source} has {len(wnids)} classes: give at most {len(wnids)} (0 = all)"
        )
    if not count or count == len(wnids):
        return wnids
    rs = np.random.RandomState(seed)
    idx = sorted(rs.choice(len(wnids), count, replace=False))
    return [wnids[i] for i in idx]


def write_class_list(dataset: str, path, count: int, seed: int, out, identity: str | None = None) -> list[str]:
    src = open_source(dataset, path)
    src.validate()
    wnids = select_classes(src.wnids(), count, seed, src.describe())
    atomic_write_json(
        out,
        {
            "dataset": dataset,
            "source": str(path),
            **({"identity": identity} if identity else {}),
            "n_available": len(src.wnids()),
            "classes": count,
            "class_seed": seed,
            "wnids": wnids,
        },
    )
    return wnids


# ----------------------------------------------------------------------------- decoding
def decode(data: bytes, size: int, member: str = "?") -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                # Caffe's ImageNet recipe warps to a square (no aspect preservation).
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DatasetError(f"cannot decode image {member}: {e}") from e


PREP_STATE = ".prepare"  # undeclared folder beside the outputs: partial arrays and their progress survive a kill
CHUNK_BYTES = 16 << 20  # images per work unit: about 16 MB of decoded pixels, at most 256 images
SAVE_EVERY_S = float(os.environ.get("TRANSFERLAB_PREPARE_SAVE_S", 5))  # progress record cadence (tests: 0)


def _chunk_size(size: int) -> int:
    return int(max(1, min(256, CHUNK_BYTES // (size * size * 3))))


_WORKER_SOURCE: dict = {}


@contextlib.contextmanager
def _main_script_hidden():
    """Spawned decoders need only this module, so they must not re-run the main script as spawn does by
    default: a Snakemake script run again outside Snakemake fails at once (its ``snakemake`` object is not
    defined there), and a script without a ``__main__`` guard would start preparing again."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is not None:
        del main.__file__
    try:
        yield
    finally:
        if path is not None:
            main.__file__ = path


def _decode_chunk(job) -> tuple:
    """Decode ``members`` into rows ``start..`` of the partial array at ``part_file`` (opened by path, so no
    array is ever pickled); return the chunk's exact integer statistics (channel sums, sums of squares,
    the per-pixel sum behind the mean image), or None for them when ``stats`` is off."""
    dataset, path, part_file, start, members, size, stats, fmt = job
    key = (dataset, str(path))
    if key not in _WORKER_SOURCE:
        _WORKER_SOURCE.clear()
        _WORKER_SOURCE[key] = open_source(dataset, path)
    src = _WORKER_SOURCE[key]
    arr = np.load(part_file, mmap_mode="r+") if fmt is None else None
    blobs = []
    sums = np.zeros(3, np.int64)
    sq = np.zeros(3, np.int64)
    pix = np.zeros((size, size, 3), np.int64) if stats else None
    for i, m in enumerate(members):
        img = decode(src.read(m), size, m)
        if arr is not None:
            arr[start + i] = img
        else:
            blobs.append(encoded.encode(img, fmt[1]))
        if stats:  # of the decoded pixels (for JPEG, before the re-encoding)
            x = img.astype(np.int64)
            sums += x.sum(axis=(0, 1))
            sq += (x * x).sum(axis=(0, 1))
            pix += x
    if arr is not None:
        arr.flush()
        del arr
    else:  # the chunk's JPEGs back to back, then their lengths: the chunk counts as done once both are there
        chunk = Path(part_file) / f"{start:010d}"
        with atomic_path(chunk.with_suffix(".jpg")) as tmp:
            Path(tmp).write_bytes(b"".join(blobs))
        with atomic_path(chunk.with_suffix(".len.npy")) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.array([len(b) for b in blobs], dtype=np.int64))
    return start, len(members), sums, sq, pix


def _load_progress(path: Path, key: str, size: int):
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            if str(z["key"]) != key:
                return None
            return {
                "done": set(int(x) for x in z["done"]),
                "fp": dict(zip((int(x) for x in z["done"]), (str(d) for d in z["fp"]), strict=True))
                if "fp" in z.files
                else {},
                "sums": z["sums"].copy(),
                "sq": z["sq"].copy(),
                "pix": z["pix"].copy() if z["pix"].shape == (size, size, 3) else None,
            }
    except (OSError, ValueError, KeyError, EOFError):
        return None  # a damaged record: start this part again


def _save_progress(path: Path, key: str, st: dict, size: int) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                key=np.array(key),
                done=np.array(sorted(st["done"]), dtype=np.int64),
                fp=np.array([st["fp"].get(x, "") for x in sorted(st["done"])], dtype=str),
                sums=st["sums"],
                sq=st["sq"],
                pix=st["pix"] if st["pix"] is not None else np.zeros((0,), np.int64),
            )


def _decode_chunks(jobs: list, threads: int, take) -> None:
    """Decode every chunk of ``jobs``, in ``threads`` spawned workers (or here with one), each result to ``take``."""
    if threads > 1 and len(jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # a worker that cannot start raises BrokenProcessPool here (multiprocessing.Pool would replace it
        # forever); the caller keeps the chunks already decoded
        with _main_script_hidden(), ProcessPoolExecutor(threads, mp_context=mp.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(_decode_chunk, job) for job in jobs]):
                take(fut.result())
    else:
        for job in jobs:
            take(_decode_chunk(job))


def _digest(obj) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(obj).encode()).hexdigest()[:20]


def _changed_chunks(st: dict, fps: list, step: int) -> list[int]:
    """The decoded chunks whose members' fingerprints differ from those they were decoded with."""
    return [s for s in st["done"] if st["fp"].get(s) != _digest(fps[s : s + step])]


def _finished_part(state: Path, part: str, key: str, contents: str, size: int):
    """The statistics of a part finished by an earlier attempt from the same members with the same contents."""
    done = state / f"{part}_finished.json"
    try:
        if json.loads(done.read_text())["contents"] != contents or not (state / f"{part}_images.npy").exists():
            return None
    except (OSError, ValueError, KeyError):
        return None
    return _load_progress(state / f"{part}_stats.npz", key, size)


def _decode_part(
    dataset, src, path, part, members, size, out_dir: Path, threads: int, stats: bool, log, counter: dict, fmt=None
) -> dict:
    """Decode one part (train or val) into ``.prepare/{part}_images.npy``, resumable at two levels: decoded
    chunks are recorded with their statistics, so a killed or failed preparation continues where it stopped
    and never decodes a finished chunk twice; a finished part stays there, with its statistics, until every
    part is finished, so a failure in a later part (which makes Snakemake delete the job's declared outputs)
    never costs a finished one."""
    state = out_dir / PREP_STATE
    state.mkdir(parents=True, exist_ok=True)
    # what the part is made of: the dataset, the image size and every member (never the data's path, so the
    # same data elsewhere resumes); a finished part also by every member's fingerprint, a chunk by its own
    # members' (so a broken image fixed after a failure leaves the chunks decoded before it valid)
    fps = src.fingerprints(members)
    step = _chunk_size(size)
    key = _digest([dataset, size, part, members, *([] if fmt is None else [list(fmt)])])
    partial, record = state / f"{part}_images.npy", state / f"{part}_progress.npz"
    chunks = state / f"{part}_jpeg"  # the JPEG format's chunks, assembled into ``partial`` at the part's end
    started = partial.exists() if fmt is None else chunks.is_dir()
    contents = _digest([key, fps])
    finished = _finished_part(state, part, key, contents, size)
    if finished is not None:
        counter["done"] += len(members)
        print(f"prepare {part}: finished by an earlier attempt, kept ({len(members)} images)", file=log, flush=True)
        return finished
    (state / f"{part}_finished.json").unlink(missing_ok=True)
    st = _load_progress(record, key, size) if started else None
    if st is not None and _changed_chunks(st, fps, step):
        print(f"prepare {part}: files changed since the last attempt; decoding this part again", file=log, flush=True)
        st = None
    if st is None and fmt is None:
        np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(members), size, size, 3)).flush()
    elif st is None:
        shutil.rmtree(chunks, ignore_errors=True)
        chunks.mkdir()
    if st is None:
        st = {
            "done": set(),
            "fp": {},
            "sums": np.zeros(3, np.int64),
            "sq": np.zeros(3, np.int64),
            "pix": np.zeros((size, size, 3), np.int64) if stats else None,
        }
        _save_progress(record, key, st, size)
    elif st["done"]:
        n_done = sum(min(step, len(members) - s) for s in st["done"])
        print(f"prepare {part}: resuming, {n_done}/{len(members)} images already decoded", file=log, flush=True)
    jobs = [
        (dataset, str(path), str(partial if fmt is None else chunks), s, members[s : s + step], size, stats, fmt)
        for s in range(0, len(members), step)
        if s not in st["done"]
    ]
    counter["done"] += sum(min(step, len(members) - s) for s in st["done"])
    last_save = last_print = time.time()

    def take(res):
        nonlocal last_save, last_print
        start, n, sums, sq, pix = res
        st["done"].add(start)
        st["fp"][start] = _digest(fps[start : start + step])
        st["sums"] += sums
        st["sq"] += sq
        if stats:
            st["pix"] += pix
        counter["done"] += n
        counter["this_run"] += n
        now = time.time()
        if now - last_save >= SAVE_EVERY_S:
            _save_progress(record, key, st, size)
            last_save = now
        if now - last_print >= 10 or counter["done"] == counter["total"]:
            rate = counter["this_run"] / max(now - counter["t0"], 1e-9)
            left = (counter["total"] - counter["done"]) / max(rate, 1e-9)
            print(
                f"prepare: {counter['done']}/{counter['total']} images decoded ({rate:.0f} img/s, "
                f"{left / 60:.1f} min left)",
                file=log,
                flush=True,
            )
            last_print = now

    try:
        _decode_chunks(jobs, threads, take)
    finally:
        _save_progress(record, key, st, size)  # whatever happened, the finished chunks stay finished
    if fmt is not None:  # one indexed file, written sequentially (a kill here redoes only this copy)
        starts = sorted(st["done"])
        encoded.indexed_file(
            partial, [(chunks / f"{s:010d}.jpg", np.load(chunks / f"{s:010d}.len.npy")) for s in starts]
        )
    os.replace(record, state / f"{part}_stats.npz")
    atomic_write_json(state / f"{part}_finished.json", {"contents": contents, "images": len(members)})
    shutil.rmtree(chunks, ignore_errors=True)
    return st


def prepare_arrays(
    dataset: str,
    path,
    wnids: list[str],
    out_dir,
    size: int,
    train_per_class: int = 0,
    val_per_class: int = 0,
    log=None,
    threads: int = 1,
    identity: str | None = None,
    cache=None,
    image_format: str = "uint8",
    jpeg_quality: int = 90,
) -> dict:
    """Decode the chosen classes once into uint8 arrays under ``out_dir`` (``image_format`` ``jpeg``: into one
    indexed JPEG file per part at ``jpeg_quality``, :mod:`transferlab.data.encoded`); ``identity`` (the data's,
    from :mod:`transferlab.data.identity`) is recorded in ``meta.json``.

    Memory is bounded whatever the number of images: pixels go straight into memory-mapped arrays, and
    the normalisation statistics (channel mean and std, the mean image) are exact integer sums
    accumulated while decoding.  ``threads`` processes decode in parallel; a killed run resumes from its
    finished chunks and finished parts (``out_dir/.prepare/``, undeclared, so Snakemake's clean-up of a failed
    job never removes them) and gives byte-identical arrays; the arrays appear in ``out_dir`` only when every
    part is finished, ``meta.json`` last. With ``cache`` (a folder) and an ``identity``, the arrays are shared
    between runs of the same data and settings: a finished preparation is hard-linked into
    ``cache/<key>/``, and a later run with the same key links from there instead of decoding."""
    log = log or sys.stderr
    out_dir = Path(out_dir)
    if image_format not in encoded.FORMATS:
        raise DatasetError(f"data.format must be one of {', '.join(encoded.FORMATS)}, got {image_format!r}")
    fmt = None if image_format == "uint8" else ("jpeg", int(jpeg_quality))
    shared = _cache_entry(cache, dataset, identity, wnids, size, train_per_class, val_per_class, fmt)
    if shared is not None and (shared / "meta.json").exists() and _link_all(shared, out_dir):
        print(f"prepare: the same data and settings were prepared before, shared from {shared}", file=log, flush=True)
        return json.loads((out_dir / "meta.json").read_text())
    src = open_source(dataset, path)
    missing = sorted(set(wnids) - set(src.wnids()))
    if missing:
        raise DatasetError(f"classes {missing[:5]} are not in {src.describe()}")
    out_dir.mkdir(parents=True, exist_ok=True)
    val_all = src.val_members()
    jobs, per_class = {}, {}
    for part in ("train", "val"):
        members, labels, counts = [], [], []
        cap = train_per_class if part == "train" else val_per_class
        for label, w in enumerate(wnids):
            ms = src.train_members(w) if part == "train" else val_all[w]
            if cap:
                ms = ms[:cap]
            if not ms:
                raise DatasetError(f"{src.describe()}: class {w} has no {part} images")
            members += ms
            labels += [label] * len(ms)
            counts.append(len(ms))
        jobs[part] = (members, np.asarray(labels, dtype=np.int16))
        per_class[part] = [min(counts), max(counts)]
        if cap and min(counts) < cap:  # a cap is an upper bound: a class with fewer images gives what it has
            short = sum(c < cap for c in counts)
            print(
                f"note: data.{part}_per_class={cap}, but {short} of {len(counts)} classes hold fewer {part} images "
                f"(as few as {min(counts)}): each gives what it has, {per_class[part][0]}-{per_class[part][1]} per "
                "class (recorded in meta.json as images_per_class)",
                file=log,
                flush=True,
            )
    stats = {"images_per_class": per_class}
    counter = {"done": 0, "this_run": 0, "total": sum(len(m) for m, _ in jobs.values()), "t0": time.time()}
    for part, (members, labels) in jobs.items():
        st = _decode_part(
            dataset, src, path, part, members, size, out_dir, int(threads), part == "train", log, counter, fmt
        )
        if part == "train":
            n_px = len(members) * size * size
            mean = st["sums"] / n_px
            stats["mean"] = [float(m) / 255 for m in mean]
            stats["std"] = [
                float(np.sqrt(max(q / n_px - m * m, 0.0))) / 255 for q, m in zip(st["sq"], mean, strict=True)
            ]
            with atomic_path(out_dir / "mean_image.npy") as mtmp:  # Caffe-style mean image (0-255)
                with open(mtmp, "wb") as f:
                    np.save(f, (st["pix"] / len(members)).astype(np.float32))
        with atomic_path(out_dir / f"{part}_labels.npy") as tmp:
            with open(tmp, "wb") as f:
                np.save(f, labels)
        stats[f"n_{part}"] = len(members)
    meta = {
        "dataset": dataset,
        "wnids": list(wnids),
        "size": size,
        "train_per_class": train_per_class,
        "val_per_class": val_per_class,
        **({"identity": identity} if identity else {}),
        **({} if fmt is None else {"format": "jpeg", "jpeg_quality": fmt[1]}),
        **stats,
    }
    state = out_dir / PREP_STATE
    for part in jobs:  # linked, not moved: until meta.json is written, the finished parts are still in .prepare
        dest = out_dir / f"{part}_images.npy"
        dest.unlink(missing_ok=True)
        try:
            os.link(state / f"{part}_images.npy", dest)
        except OSError:  # a file system without hard links: moved (the window is one rename per part)
            os.replace(state / f"{part}_images.npy", dest)
    atomic_write_json(out_dir / "meta.json", meta)
    for part in jobs:
        for name in (f"{part}_images.npy", f"{part}_stats.npz", f"{part}_finished.json"):
            (state / name).unlink(missing_ok=True)
    try:
        state.rmdir()
    except OSError:
        pass
    if shared is not None:
        _share(out_dir, shared, log)
    return meta


PREPARED_FILES = (
    "train_images.npy",
    "train_labels.npy",
    "val_images.npy",
    "val_labels.npy",
    "mean_image.npy",
    "meta.json",
)


def _cache_entry(cache, dataset, identity, wnids, size, train_per_class, val_per_class, fmt=None) -> Path | None:
    """The folder of the shared cache that holds arrays made from this data with these settings."""
    if not cache or not identity:
        return None
    import hashlib

    key = json.dumps(
        [dataset, identity, list(wnids), size, train_per_class, val_per_class, *([list(fmt)] if fmt else [])]
    )
    return Path(cache) / f"{dataset}-{size}px-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


ARRAYS = PREPARED_FILES[:-1]  # meta.json is small: copied, so a run may rewrite its own


def _symlink(target: Path, at: Path) -> None:
    """``at`` becomes a relative symbolic link to ``target``, in one rename (a kill leaves the old file or the
    link, never neither). Links, not hard links: Snakemake touches a job's outputs when it ends, and touching a
    link leaves the shared file's mtime, and so every other run's view of it, alone."""
    tmp = at.with_name(at.name + ".link")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, at.parent), tmp)
    os.replace(tmp, at)


def _link_all(src: Path, dest: Path) -> bool:
    """Link every array of the cache entry ``src`` into ``dest``, then copy its meta.json (last)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for name in ARRAYS:
            _symlink(src / name, dest / name)
        with atomic_path(dest / "meta.json") as tmp:
            shutil.copyfile(src / "meta.json", tmp)
    except OSError:
        return False
    return True


def _share(out_dir: Path, shared: Path, log) -> None:
    """Put a finished preparation into the cache: hard-linked into a temporary folder that is renamed into place
    (the cache never holds half an entry), then this run's arrays become links to it, as every later run's are.
    Nothing is shared where hard links cannot be made (the cache on another file system)."""
    if shared.exists():
        return
    tmp = shared.with_name(shared.name + f".part{os.getpid()}")
    try:
        tmp.mkdir(parents=True)
        for name in PREPARED_FILES:
            os.link(out_dir / name, tmp / name)
        os.rename(tmp, shared)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"prepare: not shared ({e}); this run keeps its own arrays", file=log, flush=True)
        return
    for name in ARRAYS:
        _symlink(shared / name, out_dir / name)
    print(f"prepare: shared as {shared}: later runs of this data and these settings link to it", file=log, flush=True)


# ----------------------------------------------------------------------------- halves
def half_index(labels: np.ndarray, wnids: list[str], half: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the half's images and their labels remapped to 0..k-1 (sorted wnids)."""
    pos = {w: i for i, w in enumerate(wnids)}
    missing = [w for w in half if w not in pos]
    if missing:
        raise DatasetError(f"split names classes not in the prepared data: {missing[:5]}")
    half_sorted = sorted(half)
    remap = np.full(len(wnids), -1, dtype=np.int64)
    for new, w in enumerate(half_sorted):
        remap[pos[w]] = new
    new_labels = remap[labels.astype(np.int64)]
    idx = np.nonzero(new_labels >= 0)[0]
    return idx, new_labels[idx]


def write_half(prepared_dir, split_file, half: str, out, train_per_class: int = 0, dev_per_class: int = 0) -> dict:
    """Indices and remapped labels of one half: ``train``, ``dev`` and ``val``.

    ``dev`` is carved from the training images: the last ``dev_per_class`` of each class (in
    archive order) are held out of training and used for every tuning decision and the per-epoch
    curves; the official validation images (``val``) are only ever reported.  The dev slice is
    carved before the ``train_per_class`` cap, so every dataset-size network is tuned and
    monitored on the same images.  ``full_n_train`` is the training-set size without the cap (the
    dataset-size study trains every size for the same number of iterations).
    """
    prepared_dir = Path(prepared_dir)
    meta = json.loads((prepared_dir / "meta.json").read_text())
    split = json.loads(Path(split_file).read_text())
    if half not in split or not isinstance(split[half], list):
        raise DatasetError(f"split file {split_file} has no class list for half {half!r}")
    if not split[half]:
        raise DatasetError(f"split file {split_file}: half {half!r} is empty")
    res = {"wnids": sorted(split[half])}
    k = len(res["wnids"])
    labels = np.load(prepared_dir / "train_labels.npy")
    idx, y = half_index(labels, meta["wnids"], split[half])
    per_class = [idx[y == c] for c in range(k)]
    fewest = min(len(p) for p in per_class)
    if dev_per_class and fewest - dev_per_class < 1:
        raise DatasetError(
            f"data.dev_per_class={dev_per_class} leaves no training images: a class of half {half!r} "
            f"has only {fewest} training images; expected dev_per_class < {fewest}"
        )
    dev = [p[len(p) - dev_per_class :] if dev_per_class else p[:0] for p in per_class]
    train = [p[: len(p) - dev_per_class] for p in per_class]
    res["full_n_train"] = sum(len(p) for p in train)
    if train_per_class:
        train = [p[:train_per_class] for p in train]
    for part, parts in (("train", train), ("dev", dev)):
        res[f"{part}_idx"] = np.sort(np.concatenate(parts)).astype(np.int64)
        pos = np.searchsorted(idx, res[f"{part}_idx"])
        res[f"{part}_y"] = y[pos]
    vlabels = np.load(prepared_dir / "val_labels.npy")
    res["val_idx"], res["val_y"] = half_index(vlabels, meta["wnids"], split[half])
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                **{f"{p}_{c}": res[f"{p}_{c}"] for p in ("train", "dev", "val") for c in ("idx", "y")},
                wnids=np.array(res["wnids"]),
                full_n_train=np.int64(res["full_n_train"]),
                dev_per_class=np.int64(dev_per_class),
            )
    return res


def open_images(path: Path, meta: dict, part: str):
    """Memory-map one prepared part's images, checked against meta.json: a truncated or overwritten file is
    named, with how to rebuild it, instead of failing later inside a batch. A uint8 array (n, size, size, 3),
    or for the JPEG format a :class:`~transferlab.data.encoded.JpegImages` of the same shape."""
    rebuild = f"delete the prepared arrays ({path.parent}) and rerun to rebuild them"
    if meta.get("format", "uint8") == "jpeg":
        try:
            return encoded.JpegImages(path, meta[f"n_{part}"], meta["size"])
        except (OSError, ValueError, EOFError, DatasetError) as e:
            raise DatasetError(f"{path} is truncated or corrupt ({e}); {rebuild}") from e
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as e:
        raise DatasetError(f"{path} is truncated or corrupt ({e}); {rebuild}") from e
    size = meta.get("size")
    expected = (meta.get(f"n_{part}"), size, size, 3)
    if arr.dtype != np.uint8 or (None not in expected and arr.shape != expected):
        raise DatasetError(
            f"{path} holds {arr.dtype} {arr.shape}, expected uint8 {expected} (meta.json): "
            f"truncated or corrupt; {rebuild}"
        )
    return arr


def stage(path, stage_dir, log=None) -> Path:
    """``path`` copied into ``stage_dir`` (a node-local folder) and the copy's path: once per node, under an
    exclusive lock, so the node's other jobs wait for that one copy and then share it. The copy is named by
    the file's real path, size and modification time (another preparation is another copy), written to a
    temporary name and renamed into place, so a half-made copy is never read."""
    import fcntl
    import hashlib

    src = Path(path).resolve()
    st = src.stat()
    key = hashlib.sha256(f"{src}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = Path(os.path.expandvars(str(stage_dir))) / f"transferlab-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / src.name
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dest.exists() and dest.stat().st_size == st.st_size:
            print(f"images: reading the copy already on this node, {dest}", file=log or sys.stderr, flush=True)
            return dest
        t = time.time()
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
        print(
            f"images: staged {src} to {dest} ({st.st_size / 2**30:.2f} GiB in {time.time() - t:.1f} s)",
            file=log or sys.stderr,
            flush=True,
        )
    return dest


def load_half(prepared_dir, half_file, stage_dir=None, log=None):
    """Memory-mapped images plus the half's indices/labels (``train``, ``dev``, ``val``); with ``stage_dir`` the
    training images are read from a node-local copy (:func:`stage`)."""
    prepared_dir = Path(prepared_dir)
    meta = json.loads((prepared_dir / "meta.json").read_text())
    h = np.load(half_file)
    data = {
        "meta": meta,
        "wnids": [str(w) for w in h["wnids"]],
        "full_n_train": int(h["full_n_train"]) if "full_n_train" in h else len(h["train_idx"]),
    }
    images = {}
    data["paths"] = {part: prepared_dir / f"{part}_images.npy" for part in ("train", "val")}
    if stage_dir:
        data["paths"]["train"] = stage(data["paths"]["train"], stage_dir, log)
    for part in ("train", "val"):
        # a plain ndarray view of the mapping: slicing a np.memmap subclass costs ~1 us per crop
        arr = open_images(data["paths"][part], meta, part)
        images[part] = np.asarray(arr) if isinstance(arr, np.ndarray) else arr
    for part, src in (("train", "train"), ("dev", "train"), ("val", "val")):
        if f"{part}_idx" in h:
            data[part] = (images[src], h[f"{part}_idx"], h[f"{part}_y"])
    return data
