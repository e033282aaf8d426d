"""Shared fixtures: a tiny fake Tiny ImageNet archive in the official layout."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
WNIDS = ["n01443537", "n01629819", "n01641577", "n01644900", "n01698640", "n01742172"]


def _jpeg(rng, size=64, colour=None) -> bytes:
    arr = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    if colour is not None:  # a class-dependent tint so a net can learn something
        arr = (arr // 4 + np.array(colour, dtype=np.uint8)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def make_fake_tiny(path: Path, wnids=WNIDS, n_train=8, n_val=3, size=64, seed=0, skip=()) -> Path:
    """Write a zip in the official tiny-imagenet-200 layout (``skip`` drops members)."""
    rng = np.random.default_rng(seed)
    root = "tiny-imagenet-200/"
    colours = {w: rng.integers(0, 190, 3) for w in wnids}
    with zipfile.ZipFile(path, "w") as z:

        def put(name, data):
            if name not in skip:
                z.writestr(root + name, data)

        put("wnids.txt", "\n".join(wnids) + "\n")
        put("words.txt", "".join(f"{w}\tthing {i}\n" for i, w in enumerate(wnids)))
        for w in wnids:
            for i in range(n_train):
                put(f"train/{w}/images/{w}_{i}.JPEG", _jpeg(rng, size, colours[w]))
            put(f"train/{w}/{w}_boxes.txt", "")
        ann = []
        j = 0
        for w in wnids:
            for _ in range(n_val):
                put(f"val/images/val_{j}.JPEG", _jpeg(rng, size, colours[w]))
                ann.append(f"val_{j}.JPEG\t{w}\t0\t0\t63\t63")
                j += 1
        put("val/val_annotations.txt", "\n".join(ann) + "\n")
    return path


FOLDER_CLASSES = ["apple", "bicycle", "cloud", "dog", "elm", "fork"]


def make_fake_folder(root: Path, classes=FOLDER_CLASSES, n_train=8, n_val=3, sizes=(20, 40), seed=0) -> Path:
    """Write ``root/train/<class>/`` and ``root/val/<class>/`` of small images (``<i>.jpg`` for even i,
    ``<i>.png`` for odd), each of a random size in ``sizes`` (width and height drawn apart), tinted by class."""
    rng = np.random.default_rng(seed)
    colours = {c: rng.integers(0, 190, 3) for c in classes}
    for part, count in (("train", n_train), ("val", n_val)):
        for c in classes:
            d = root / part / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                ext = "png" if i % 2 else "jpg"
                w, h = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, 2))
                arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8) // 4 + colours[c].astype(np.uint8)
                Image.fromarray(arr.astype(np.uint8)).save(d / f"{i}.{ext}")
    return root


def rewrite_zip(src: Path, dst: Path, edit) -> Path:
    """Copy a zip, passing each member's bytes through ``edit(name, payload) -> payload``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, edit(item.filename, zin.read(item.filename)))
    return dst


@pytest.fixture
def fake_tiny(tmp_path) -> Path:
    return make_fake_tiny(tmp_path / "tiny-imagenet-200.zip")


@pytest.fixture
def prepared(tmp_path, fake_tiny):
    """Prepared arrays + half files for a random split of the fake archive."""
    from transferlab.data import datasets as data
    from transferlab.data import splits

    out = tmp_path / "prepared"
    wnids = data.write_class_list("tiny-imagenet", fake_tiny, 0, 0, tmp_path / "classes.json")
    data.prepare_arrays("tiny-imagenet", fake_tiny, wnids, out, 20, 0, 0, log=open(os.devnull, "w"))
    splits.write_random_split(tmp_path / "classes.json", 0, tmp_path / "split.json")
    for h in ("A", "B"):
        data.write_half(out, tmp_path / "split.json", h, tmp_path / f"{h}.npz")
    return tmp_path


SMALL_ARCH = {
    "widths": [8, 8, 8, 8, 8, 16, 16],
    "conv1_kernel": 3,
    "conv1_stride": 1,
    "conv1_pad": 1,
    "groups": 2,
    "init": "kaiming",
}
SMALL_TRAIN = {
    "epochs": 2,
    "batch_size": 4,
    "lr": 0.01,
    "lr_step_epochs": 1,
    "crop_size": 16,
    "checkpoint_every_s": 1e9,
}


def half_file(prepared: Path, tmp_path: Path, half="A", **kw) -> tuple[dict, Path]:
    """Half ``half`` of the ``prepared`` fixture's split written anew with write_half's options ``kw`` (dev slice,
    per-class cap): what write_half returned, and the file."""
    from transferlab.data import datasets as data

    out = tmp_path / f"{half}-{'-'.join(f'{k}{v}' for k, v in sorted(kw.items()))}.npz"
    return data.write_half(prepared / "prepared", prepared / "split.json", half, out, **kw), out


class Trained(NamedTuple):
    meta: dict  # what train_network returns (history, steps, ...)
    state: dict  # the saved weights' state dict


def train_small(
    root: Path, net: str, half, base=None, *, arch=None, name=None, seed=1, stage_dir=None, log=None, **train_over
) -> Trained:
    """Train ``net`` with the project's trainer at test sizes (SMALL_ARCH unless ``arch``, SMALL_TRAIN updated with
    ``train_over``) on ``root/prepared`` and the half ``root/<half>.npz`` (or the path ``half``); the weights, the
    training record and the resume state go to ``root/<name or net>/``."""
    from transferlab import io as tio
    from transferlab.training.train import train_network

    out = root / (name or net)
    meta = train_network(
        net=net,
        prepared_dir=root / "prepared",
        half_file=half if isinstance(half, Path) else root / f"{half}.npz",
        out_weights=out / "weights.pt",
        out_meta=out / "train.json",
        state_dir=out / "state",
        arch=dict(SMALL_ARCH if arch is None else arch),
        train_cfg={**SMALL_TRAIN, **train_over},
        seed=seed,
        base_weights=base,
        stage_dir=stage_dir,
        log=log or io.StringIO(),
    )
    return Trained(meta, tio.load_torch(out / "weights.pt")["state_dict"])


# ----------------------------------------------------------------------------- lanes and guards
LANES = ("unit", "workflow", "slow")


def pytest_collection_modifyitems(config, items):
    """A test's lane is its folder: tests/unit, tests/workflow (runs Snakemake; the slurm tests too) or
    tests/slow. A test elsewhere, or marked with another lane than its folder's, is a mistake."""
    for item in items:
        lane = Path(str(item.fspath)).parent.name
        if lane not in LANES or Path(str(item.fspath)).parent.parent != REPO / "tests":
            raise pytest.UsageError(f"{item.nodeid}: a test lives in tests/unit, tests/workflow or tests/slow")
        other = [m for m in LANES if m != lane and item.get_closest_marker(m)]
        if other:
            raise pytest.UsageError(f"{item.nodeid}: marked {other[0]} but in tests/{lane}")
        if item.get_closest_marker("slurm") and lane != "workflow":
            raise pytest.UsageError(f"{item.nodeid}: a slurm test runs Snakemake; it belongs in tests/workflow")
        item.add_marker(getattr(pytest.mark, lane))


@pytest.fixture(autouse=True)
def _lane(request, monkeypatch):
    """A unit test that starts Snakemake fails: the fast lane stays fast and honest."""
    if request.node.get_closest_marker("unit"):
        monkeypatch.setenv("TRANSFERLAB_TEST_LANE", "unit")


def _tree_files() -> set[str]:
    """Files in the working tree (outside .git, .venv, caches and the benchmark output folder)."""
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "mutants"}
    found = set()
    for dirpath, dirnames, filenames in os.walk(REPO):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.endswith(".egg-info")]
        rel = os.path.relpath(dirpath, REPO)
        found.update(os.path.normpath(os.path.join(rel, f)) for f in filenames)
    return found


def pytest_sessionstart(session):
    session.config._tree_before = _tree_files()
    if stale_slurm_client():
        use_scontrol_stand_in(True)


# ----------------------------------------------------------------------------- Slurm's client without a cluster
# Every Snakemake process imports its Slurm executor plugin, which runs `scontrol show config` when the module is
# read and waits up to 10 s for a controller. Where Slurm's client is installed and no controller runs (what the
# Slurm lane leaves behind once its daemons are gone), that is 9 s per Snakemake call, most of the suite's time.
# The tests outside the Slurm lane then find a stand-in `scontrol` first on PATH that fails at once, as it does
# where Slurm is not installed; the lane's cluster fixture takes it off PATH while its own cluster runs.
SCONTROL_STAND_IN = Path(os.environ.get("TMPDIR", "/tmp")) / f"transferlab-test-scontrol-{os.getpid()}"


def stale_slurm_client() -> bool:
    import shutil

    import psutil

    if not shutil.which("scontrol"):
        return False
    return not any(p.info["name"] == "slurmctld" for p in psutil.process_iter(["name"]))


def use_scontrol_stand_in(on: bool) -> None:
    """Put the failing stand-in `scontrol` first on PATH (on) or take it off (off)."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != str(SCONTROL_STAND_IN)]
    if on:
        SCONTROL_STAND_IN.mkdir(exist_ok=True)
        exe = SCONTROL_STAND_IN / "scontrol"
        exe.write_text(
            "#!/bin/sh\necho 'scontrol: no Slurm controller runs here (stand-in of tests/conftest.py)' >&2\nexit 1\n"
        )
        exe.chmod(0o755)
        path.insert(0, str(SCONTROL_STAND_IN))
    os.environ["PATH"] = os.pathsep.join(path)


def pytest_runtest_logreport(report):
    """Remember skipped tests: in CI (CI=true) a skip fails the session, so nothing is skipped there."""
    if report.skipped and os.environ.get("CI") == "true":
        _SKIPPED.append(report.nodeid)


_SKIPPED: list[str] = []


def pytest_sessionfinish(session, exitstatus):
    """Tests never write into the working tree: a file that appeared there fails the session. In CI a
    skipped test fails it too."""
    if SCONTROL_STAND_IN.exists():
        import shutil

        shutil.rmtree(SCONTROL_STAND_IN, ignore_errors=True)
    if _SKIPPED:
        print(f"\nERROR: CI=true, and these tests were skipped: {_SKIPPED[:10]}", flush=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    before = getattr(session.config, "_tree_before", None)
    if before is None:
        return
    new = sorted(_tree_files() - before)
    if os.environ.get("TRANSFERLAB_DOWNLOADED_TINY"):  # the one allowed write: the archive into data/raw/
        new = [f for f in new if not f.startswith(("data" + os.sep, ".snakemake" + os.sep))]
    if new:
        print(f"\nERROR: the tests wrote into the working tree ({REPO}): {new[:10]}", flush=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def recording_job_device():
    """A stand-in for transferlab.training.devices.job_device that records each claim: ``(claims, job_device)``,
    ``claims`` a list of ``[requested, "held" | "released"]``; the claim resolves to "cpu:0" (a GPU node's
    "cuda:N")."""
    import contextlib

    claims = []

    @contextlib.contextmanager
    def job_device(requested, log=None):
        claims.append([requested, "held"])
        yield "cpu:0"
        claims[-1][1] = "released"

    return claims, job_device


def md_rows(text: str) -> list[list[str]]:
    """The rows of the markdown tables in ``text`` (header rows included, separator rows not), each a list of its
    stripped cells: tests read tables by cell, whatever the column padding."""
    import re

    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows
