"""Prepared images stored as JPEG (data.format jpeg): the indexed file, its checks, the crops decoded on the host
and on a device (the CPU here, through the same call a GPU gets), and the preparation writing it."""

import pickle

import numpy as np
import pytest
import torch

from transferlab.data import encoded
from transferlab.data.batches import DeviceFeed, StepBatches, loader
from transferlab.errors import DatasetError

SIZE, CROP = 32, 24


def gradients(n):
    """Smooth images, each its own: a crop at the wrong offset is far from the right one."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    return np.stack(
        [np.stack([(4 * yy + 9 * i) % 256, (5 * xx + 3 * i) % 256, (2 * (yy + xx) + i) % 256], -1) for i in range(n)]
    ).astype(np.uint8)


def indexed(tmp_path, images, quality=95, chunk=3):
    blobs = [encoded.encode(im, quality) for im in images]
    parts = []
    for s in range(0, len(blobs), chunk):
        f = tmp_path / f"{s}.jpg"
        f.write_bytes(b"".join(blobs[s : s + chunk]))
        parts.append((f, np.array([len(b) for b in blobs[s : s + chunk]])))
    path = tmp_path / "part.npy"
    assert encoded.indexed_file(path, parts) == len(images)
    return path, blobs


def test_the_indexed_file_gives_back_each_jpeg_and_its_crop(tmp_path):
    images = gradients(7)
    path, blobs = indexed(tmp_path, images)
    store = encoded.JpegImages(path, 7, SIZE)
    assert store.shape == (7, SIZE, SIZE, 3) and len(store) == 7
    data, lengths = store.encoded([5, 0, 5])
    assert bytes(data.numpy()) == blobs[5] + blobs[0] + blobs[5]
    assert lengths.tolist() == [len(blobs[i]) for i in (5, 0, 5)]
    oy, ox = np.array([0, 8, 3]), np.array([8, 0, 5])
    crops = store.crops([5, 0, 5], CROP, oy, ox)
    want = np.stack([images[r, y : y + CROP, x : x + CROP] for r, y, x in zip([5, 0, 5], oy, ox, strict=True)])
    err = np.abs(crops.astype(int) - want)
    assert crops.shape == (3, CROP, CROP, 3) and err.mean() < 2 and err.max() < 24  # JPEG at quality 95
    wrong = np.abs(store.crops([5], CROP, [4], [8]).astype(int) - want[:1])
    assert wrong.mean() > 4 * err.mean()  # a crop at another offset is told apart
    back = pickle.loads(pickle.dumps(store))  # a loader worker reopens it by path
    assert np.array_equal(back.crops([5, 0, 5], CROP, oy, ox), crops)


def test_a_truncated_or_foreign_file_is_named(tmp_path):
    from transferlab.data.datasets import open_images

    path, _ = indexed(tmp_path, gradients(4))
    meta = {"format": "jpeg", "size": SIZE, "n_train": 4}
    assert len(open_images(path, meta, "train")) == 4
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        open_images(path, dict(meta, n_train=5), "train")
    raw = np.load(path)
    np.save(path, raw[:-10])
    with pytest.raises(DatasetError, match=r"part.npy is truncated or corrupt.*delete the prepared arrays"):
        open_images(path, meta, "train")


def test_crops_decoded_on_the_device_equal_those_decoded_on_the_host(tmp_path):
    """StepBatches with ``encoded`` hands over JPEG bytes, DeviceFeed decodes and crops them on the device (the
    CPU here, the same torchvision call): the batches, labels and draws equal the host path's exactly."""
    images = gradients(10)
    path, _ = indexed(tmp_path, images)
    store = encoded.JpegImages(path, 10, SIZE)
    kw = dict(seed=4, steps_per_epoch=3, batch_size=3, start=0, stop=6, crop=CROP, mirror=True)
    idx, y = np.arange(10), np.arange(10) % 3
    host = list(loader(StepBatches(store, idx, y, **kw), 0, False, 1))
    on_device = list(DeviceFeed(loader(StepBatches(store, idx, y, encoded=True, **kw), 0, False, 1), "cpu", CROP))
    assert len(host) == len(on_device) == 6
    for a, b in zip(host, on_device, strict=True):
        assert len(a) == len(b) == 5 and all(torch.equal(s, t) for s, t in zip(a, b, strict=True))


def test_preparation_writes_the_jpeg_format_at_a_fraction_of_the_bytes(tmp_path, fake_tiny):
    from transferlab.data import datasets as data

    wnids = data.write_class_list("tiny-imagenet", fake_tiny, 0, 0, tmp_path / "classes.json")
    raw = data.prepare_arrays("tiny-imagenet", fake_tiny, wnids, tmp_path / "u8", 32, log=open("/dev/null", "w"))
    meta = data.prepare_arrays(
        "tiny-imagenet", fake_tiny, wnids, tmp_path / "jpg", 32, image_format="jpeg", jpeg_quality=90,
        log=open("/dev/null", "w"),
    )  # fmt: skip
    assert (meta["format"], meta["jpeg_quality"], meta["n_train"]) == ("jpeg", 90, raw["n_train"])
    assert meta["mean"] == raw["mean"]  # the statistics are those of the decoded pixels
    assert not (tmp_path / "jpg/.prepare").exists()
    store = data.open_images(tmp_path / "jpg/train_images.npy", meta, "train")
    arrays = np.load(tmp_path / "u8/train_images.npy")
    assert store.nbytes < arrays.nbytes
    rows = np.arange(0, meta["n_train"], 5)
    oy = ox = np.zeros(len(rows), dtype=int)
    diff = np.abs(store.crops(rows, 32, oy, ox).astype(int) - arrays[rows])
    assert diff.mean() < 10  # the same images, re-encoded (noise images: JPEG's worst case)
    with pytest.raises(DatasetError, match="data.format must be one of uint8, jpeg"):
        data.prepare_arrays("tiny-imagenet", fake_tiny, wnids, tmp_path / "x", 32, image_format="png")
