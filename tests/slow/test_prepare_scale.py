"""Preparation at any size: memory bounded whatever the number of images, parallel decoding that gives the
same bytes, and a killed or failed preparation that resumes without losing or redoing finished work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from transferlab.data import datasets as data

CLASSES = [f"c{i}" for i in range(10)]
SIZE = 96


def folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """``per_class`` smooth JPEGs per class (fast to encode and decode), 2 validation images per class."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, 48, dtype=np.float32)
    for part, count in (("train", per_class), ("val", 2)):
        for c in CLASSES:
            d = root / part / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                tint = rng.integers(0, 200, 3)
                img = (ramp[:, None, None] * tint + ramp[None, :, None] * 40).astype(np.uint8)
                Image.fromarray(img).save(d / f"{i}.jpg", quality=70)
    return root


PEAK = """
import sys, threading, time
sys.path.insert(0, {repo!r})
from transferlab.data import datasets as data
peak = [0]
def watch():
    while True:
        for line in open('/proc/self/status'):
            if line.startswith('RssAnon:'):
                peak[0] = max(peak[0], int(line.split()[1]))
        time.sleep(0.005)
threading.Thread(target=watch, daemon=True).start()
data.prepare_arrays('imagefolder', {src!r}, {classes!r}, {out!r}, {size}, log=open('/dev/null', 'w'))
time.sleep(0.02)
print(peak[0])
"""


def peak_anon_kb(src: Path, out: Path) -> int:
    code = PEAK.format(repo=str(REPO), src=str(src), classes=CLASSES, out=str(out), size=SIZE)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return int(r.stdout.split()[-1])


def test_memory_does_not_grow_with_the_number_of_images(tmp_path):
    """Four times the images (1,000 against 4,000 at 96 px): peak anonymous memory within 100 MB. The old
    statistics pass took a float64 copy of a whole channel: 74 MB against 295 MB here."""
    small = peak_anon_kb(folder(tmp_path / "small", 100), tmp_path / "p1")
    large = peak_anon_kb(folder(tmp_path / "large", 400), tmp_path / "p4")
    assert large - small < 100 * 1024, (small, large)
    # the statistics accumulated while decoding equal those of the finished array
    x = np.load(tmp_path / "p1/train_images.npy")
    meta = json.loads((tmp_path / "p1/meta.json").read_text())
    flat = x.reshape(-1, 3).astype(np.float64)
    assert meta["mean"] == pytest.approx(list(flat.mean(axis=0) / 255), abs=1e-12)
    assert meta["std"] == pytest.approx(list(flat.std(axis=0) / 255), abs=1e-9)
    assert np.allclose(np.load(tmp_path / "p1/mean_image.npy"), x.mean(axis=0), atol=1e-4)


def test_parallel_decoding_gives_the_same_bytes(tmp_path):
    src = folder(tmp_path / "imgs", 60)
    one = data.prepare_arrays("imagefolder", src, CLASSES, tmp_path / "one", 64, log=open(os.devnull, "w"))
    two = data.prepare_arrays("imagefolder", src, CLASSES, tmp_path / "two", 64, log=open(os.devnull, "w"), threads=2)
    assert one == two
    for f in ("train_images.npy", "val_images.npy", "train_labels.npy", "mean_image.npy"):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f
    assert not (tmp_path / "two" / data.PREP_STATE).exists()  # no state left once complete


KILLABLE = """
import sys
sys.path.insert(0, {repo!r})
from transferlab.data import datasets as data
data.prepare_arrays('imagefolder', {src!r}, {classes!r}, {out!r}, {size}, log=sys.stderr)
"""


def test_a_killed_preparation_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL after a few chunks are recorded; the rerun says it resumes, decodes only what is left, and
    its arrays are byte-identical to an uninterrupted preparation."""
    src = folder(tmp_path / "imgs", 400)
    ref = tmp_path / "ref"
    data.prepare_arrays("imagefolder", src, CLASSES, ref, SIZE, log=open(os.devnull, "w"))
    out = tmp_path / "out"
    code = KILLABLE.format(repo=str(REPO), src=str(src), classes=CLASSES, out=str(out), size=SIZE)
    p = subprocess.Popen(
        [sys.executable, "-c", code], env=dict(os.environ, TRANSFERLAB_PREPARE_SAVE_S="0"), stderr=subprocess.DEVNULL
    )
    record = out / data.PREP_STATE / "train_progress.npz"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and p.poll() is None:
        try:
            with np.load(record) as z:
                done = len(z["done"])
        except (OSError, ValueError, KeyError, EOFError):
            done = 0
        if done >= 3:
            break
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert 3 <= done < -(-4000 // data._chunk_size(SIZE)), done  # killed mid-way, with finished chunks on disk
    assert not (out / "train_images.npy").exists() and not (out / "meta.json").exists()
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        meta = data.prepare_arrays("imagefolder", src, CLASSES, out, SIZE, log=f)
    assert "resuming" in log.read_text()
    assert meta == json.loads((ref / "meta.json").read_text())
    for f in ("train_images.npy", "val_images.npy", "train_labels.npy", "mean_image.npy"):
        assert (out / f).read_bytes() == (ref / f).read_bytes(), f


def test_a_failed_preparation_keeps_its_finished_chunks(tmp_path):
    """A broken image stops the run with its name; the chunks decoded before it are kept, and once the image
    is fixed the rerun finishes without decoding them again."""
    src = folder(tmp_path / "imgs", 300)
    bad = src / "train" / CLASSES[7] / "5.jpg"
    good = bad.read_bytes()
    bad.write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    with pytest.raises(data.DatasetError, match="5.jpg"):
        data.prepare_arrays("imagefolder", src, CLASSES, out, 64, log=open(os.devnull, "w"))
    with np.load(out / data.PREP_STATE / "train_progress.npz") as z:
        kept = len(z["done"])
    assert kept >= 1 and not (out / "meta.json").exists()
    bad.write_bytes(good)
    calls = []
    real = data._decode_chunk
    data._decode_chunk = lambda job: calls.append(job[3]) or real(job)
    try:
        data.prepare_arrays("imagefolder", src, CLASSES, out, 64, log=open(os.devnull, "w"))
    finally:
        data._decode_chunk = real
    n_chunks = -(-3000 // data._chunk_size(64)) + 1  # train chunks + one val chunk
    assert len(calls) == n_chunks - kept
    ref = data.prepare_arrays("imagefolder", src, CLASSES, tmp_path / "ref", 64, log=open(os.devnull, "w"))
    assert (out / "train_images.npy").read_bytes() == (tmp_path / "ref/train_images.npy").read_bytes()
    assert ref == json.loads((out / "meta.json").read_text())


def test_a_worker_gets_the_image_array_by_path_not_by_value(tmp_path):
    """StepBatches pickled for a spawn/forkserver worker: a 19.7 MB training array does not travel (the
    pickle stays under 100 KB), and the reopened dataset yields the same batches."""
    import pickle

    from transferlab.data.batches import StepBatches

    rng = np.random.default_rng(0)
    path = tmp_path / "train_images.npy"
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(1600, 64, 64, 3))
    arr[:] = rng.integers(0, 255, arr.shape, dtype=np.uint8)
    arr.flush()
    images = np.asarray(np.load(path, mmap_mode="r"))
    idx, y = np.arange(1600), rng.integers(0, 10, 1600).astype(np.int16)
    kw = dict(seed=7, steps_per_epoch=25, batch_size=64, start=70, stop=95, crop=56, mirror=True)
    ds = StepBatches(images, idx, y, images_path=path, **kw)
    blob = pickle.dumps(ds)
    assert len(blob) < 100_000, len(blob)
    back = pickle.loads(blob)
    for i in (0, 11, 24):
        for a, b in zip(ds[i], back[i], strict=True):
            assert (a == b).all()
    # without the path (a caller that has none) the array is pickled as before: still correct
    assert len(pickle.dumps(StepBatches(images, idx, y, **kw))) > 19_000_000


def test_parallel_decoders_do_not_rerun_the_main_script(tmp_path):
    """Spawned decoders re-ran the main script by default: a Snakemake script (whose ``snakemake`` object
    exists only under Snakemake) made every worker fail at start and multiprocessing.Pool replaced them
    forever, so prepare_data hung with its rule's threads > 1. Here the main script prepares at its top
    level, without a ``__main__`` guard, and names an object only the parent defines."""
    src = folder(tmp_path / "src", 30)
    script = tmp_path / "prepare_like_snakemake.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\nfrom transferlab.data import datasets as data\n"
        "defined_by_the_parent.count += 1\n"  # a NameError wherever this script is run again
        f"data.prepare_arrays('imagefolder', {str(src)!r}, {CLASSES!r}, {str(tmp_path / 'out')!r}, 32, "
        "threads=2, log=open('/dev/null', 'w'))\nprint('prepared')\n"
    )
    boot = (
        f"import types, runpy, builtins\nbuiltins.defined_by_the_parent = types.SimpleNamespace(count=0)\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    r = subprocess.run([sys.executable, "-c", boot], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "prepared" in r.stdout, r.stderr[-3000:]


def test_a_file_changed_in_a_decoded_chunk_redoes_its_part(tmp_path):
    """The counterpart: after the failure, an image of an already decoded chunk is replaced by another; its stored
    pixels are stale, so the rerun decodes the part again (and says why) rather than keep them."""
    src = folder(tmp_path / "imgs", 300)
    bad = src / "train" / CLASSES[7] / "5.jpg"
    good = bad.read_bytes()
    bad.write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    with pytest.raises(data.DatasetError, match="5.jpg"):
        data.prepare_arrays("imagefolder", src, CLASSES, out, 64, log=open(os.devnull, "w"))
    bad.write_bytes(good)
    first = src / "train" / CLASSES[0] / "0.jpg"  # in the first chunk, decoded before the failure
    first.write_bytes((src / "train" / CLASSES[0] / "1.jpg").read_bytes() + b"\0" * 7)
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        meta = data.prepare_arrays("imagefolder", src, CLASSES, out, 64, log=f)
    assert "files changed since the last attempt" in log.read_text()
    ref = data.prepare_arrays("imagefolder", src, CLASSES, tmp_path / "ref", 64, log=open(os.devnull, "w"))
    assert (out / "train_images.npy").read_bytes() == (tmp_path / "ref/train_images.npy").read_bytes()
    assert meta == ref
