"""What the JPEG format (data.format jpeg) costs and gives at the paper preset's 256 px, on real photographs.

    python benchmarks/data_format.py            # about a minute on 2 cores
    python benchmarks/data_format.py --quick    # fewer images and batches (tests/slow/test_benchmarks.py)

- **bytes per image**: photographs shipped inside packages from PyPI (matplotlib's sample ``grace_hopper.jpg``,
  a dependency already; with scikit-image installed, its astronaut, chelsea, coffee, rocket and the two
  motorcycle photographs), each warped whole to 256 x 256 as the preparation does and cut into 256-px
  crops at its own resolution, encoded as the preparation encodes (PIL, 4:2:0) at several qualities,
  against 196,608 B of raw uint8;
- **host feed**: what the host does per training batch with the format: read each image's bytes from an
  indexed file of such images (random rows, from the page cache) and collate them with their labels and
  crop draws into one batch of 256 (:class:`StepBatches` with ``encoded``), in this process with one
  thread, and through a DataLoader with one worker (which adds the move into shared memory); decoding and
  augmentation happen on the GPU and are not part of it.

Prints a markdown table and writes JSON (``--out``); BENCHMARKS.md records the numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transferlab import io as tio
from transferlab.data import encoded
from transferlab.data.batches import StepBatches, loader

SIZE, CROP, BATCH = 256, 227, 256
RAW = SIZE * SIZE * 3
QUALITIES = (75, 85, 90, 95)
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def photographs() -> dict[str, np.ndarray]:
    """Colour photographs of at least 256 px from installed packages, by name."""
    import matplotlib
    from PIL import Image

    found = {}
    hopper = Path(matplotlib.get_data_path()) / "sample_data/grace_hopper.jpg"
    found["matplotlib:grace_hopper"] = np.asarray(Image.open(hopper).convert("RGB"))
    try:
        from skimage import data as skdata

        for name in SKIMAGE_PHOTOS:
            found[f"scikit-image:{name}"] = np.asarray(getattr(skdata, name)())[..., :3]
        left, right, _ = skdata.stereo_motorcycle()
        found["scikit-image:stereo_motorcycle (left)"] = np.asarray(left)[..., :3]
        found["scikit-image:stereo_motorcycle (right)"] = np.asarray(right)[..., :3]
    except ImportError:
        pass
    return {k: v for k, v in found.items() if min(v.shape[:2]) >= SIZE}


def samples(photos: dict, crops_per_photo: int, seed: int = 0) -> list[np.ndarray]:
    """256 x 256 images: each photograph warped whole (as the preparation does), and random 256-px crops."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for img in photos.values():
        out.append(np.asarray(Image.fromarray(img).resize((SIZE, SIZE), Image.BILINEAR)))
        h, w = img.shape[:2]
        for _ in range(crops_per_photo):
            y, x = rng.integers(0, h - SIZE + 1), rng.integers(0, w - SIZE + 1)
            out.append(np.ascontiguousarray(img[y : y + SIZE, x : x + SIZE]))
    return out


def bytes_per_image(images: list[np.ndarray]) -> dict[int, float]:
    return {q: float(np.mean([len(encoded.encode(im, q)) for im in images])) for q in QUALITIES}


def build_store(root: Path, images: list[np.ndarray], n: int, quality: int, seed: int = 1):
    """An indexed file of ``n`` JPEGs made from ``images`` (flipped and rolled, so no two files are the same)."""
    rng = np.random.default_rng(seed)
    blobs = []
    for i in range(n):
        im = images[i % len(images)]
        im = np.roll(im[:, ::-1] if rng.random() < 0.5 else im, int(rng.integers(0, SIZE)), axis=1)
        blobs.append(encoded.encode(np.ascontiguousarray(im), quality))
    chunk = root / "chunk.jpg"
    chunk.write_bytes(b"".join(blobs))
    encoded.indexed_file(root / "train_images.npy", [(chunk, np.array([len(b) for b in blobs]))])
    return encoded.JpegImages(root / "train_images.npy", n, SIZE)


def feed(store, batches: int, workers: int) -> float:
    """Images/s of batches of encoded images as the trainer receives them (random rows each epoch)."""
    n = len(store)
    ds = StepBatches(
        store,
        np.arange(n),
        np.arange(n) % 1000,
        seed=3,
        steps_per_epoch=max(1, n // BATCH),
        batch_size=BATCH,
        start=0,
        stop=batches + 2,
        crop=CROP,
        mirror=True,
        encoded=True,
    )
    it = loader(ds, workers, False, 4)
    next(it), next(it)  # workers started, page cache warm
    t = time.perf_counter()
    done = sum(len(b[2]) for b in it)
    return done / (time.perf_counter() - t)


def markdown(r: dict) -> str:
    lines = [
        f"data_format {r['date']}: {r['host']}; {r['n_photos']} photographs ({', '.join(r['photos'])}), "
        f"{r['n_images']} images of 256 px",
        "",
        "| measurement | value | against |",
        "|---|---|---|",
    ]
    for q, b in r["bytes_per_image"].items():
        lines.append(
            f"| JPEG at quality {q} (4:2:0) | {b / 1e3:.1f} kB per image | {RAW / b:.1f}x fewer bytes than uint8 |"
        )
    for w in ("0", "1"):
        who = "in the trainer's process" if w == "0" else "one DataLoader worker"
        lines.append(
            f"| host feed, {who} (read bytes + collate, batch {BATCH}) | {r['feed'][w]:,.0f} img/s | "
            f"{r['feed'][w] / 16000:.2f}x the 16k img/s target |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--quality", type=int, default=90, help="quality of the feed's file (the presets' default)")
    ap.add_argument("--out", default=str(REPO / "benchmarks/out/data_format.json"))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    photos = photographs()
    images = samples(photos, 2 if a.quick else 8)
    res = {
        "date": time.strftime("%Y-%m-%d"),
        "host": f"{os.cpu_count()} cpus",
        "photos": sorted(photos),
        "n_photos": len(photos),
        "n_images": len(images),
        "bytes_per_image": bytes_per_image(images),
    }
    with tempfile.TemporaryDirectory() as d:
        store = build_store(Path(d), images, 1024 if a.quick else 4096, a.quality)
        batches = 8 if a.quick else 40
        res["feed"] = {str(w): feed(store, batches, w) for w in (0, 1)}
    tio.atomic_write_json(a.out, res)
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
