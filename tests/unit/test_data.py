import functools
import hashlib
import http.server
import io
import json
import os
import socket
import threading
import zipfile

import numpy as np
import pytest
from conftest import WNIDS, half_file, make_fake_tiny, rewrite_zip

from transferlab.data import datasets as data

DEVNULL = open(os.devnull, "w")


def test_reads_official_layout_zip_and_folder(tmp_path, fake_tiny):
    src = data.TinyImageNet(fake_tiny)
    assert src.wnids() == sorted(WNIDS)
    assert len(src.train_members(WNIDS[0])) == 8
    # numeric order, not lexicographic
    assert src.train_members(WNIDS[0])[:3] == [f"train/{WNIDS[0]}/images/{WNIDS[0]}_{i}.JPEG" for i in range(3)]
    assert all(len(v) == 3 for v in src.val_members().values())
    with zipfile.ZipFile(fake_tiny) as z:
        z.extractall(tmp_path / "x")
    for folder in (tmp_path / "x", tmp_path / "x" / "tiny-imagenet-200"):
        f = data.TinyImageNet(folder)
        assert f.wnids() == src.wnids() and f.val_members() == src.val_members()


def test_does_not_assume_500_per_class(tmp_path):
    z = make_fake_tiny(tmp_path / "t.zip", n_train=5)
    src = data.TinyImageNet(z)
    assert {len(src.train_members(w)) for w in src.wnids()} == {5}


@pytest.mark.parametrize(
    "skip, message",
    [
        ({"wnids.txt"}, "no wnids.txt"),
        ({"val/val_annotations.txt"}, "val_annotations.txt"),
        ({f"train/{WNIDS[2]}/images/{WNIDS[2]}_{i}.JPEG" for i in range(8)}, "no training images"),
        ({"val/images/val_0.JPEG"}, "not in the archive"),
    ],
)
def test_layout_errors_are_clear(tmp_path, skip, message):
    z = make_fake_tiny(tmp_path / "t.zip", skip=skip)
    with pytest.raises(data.DatasetError, match=message):
        data.TinyImageNet(z)


def test_missing_and_corrupt_archives(tmp_path):
    with pytest.raises(data.DatasetError, match="not found"):
        data.TinyImageNet(tmp_path / "nope.zip")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(data.DatasetError, match="not a readable zip"):
        data.TinyImageNet(bad)


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on localhost: (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def test_download_checks_size_and_md5_before_the_file_appears(tmp_path, served):
    www, url = served
    payload = os.urandom(300_000)
    (www / "t.zip").write_bytes(payload)
    md5 = hashlib.md5(payload).hexdigest()
    raw = tmp_path / "raw"
    with pytest.raises(data.DatasetError, match=f"MD5 {md5}, expected 0{{32}}"):
        data.download(f"{url}/t.zip", raw / "t.zip", md5="0" * 32, size=len(payload))
    with pytest.raises(data.DatasetError, match=f"{len(payload)} bytes, expected {len(payload) + 1}"):
        data.download(f"{url}/t.zip", raw / "t.zip", md5=md5, size=len(payload) + 1)
    assert list(raw.iterdir()) == []
    assert data.download(f"{url}/t.zip", raw / "t.zip", md5=md5, size=len(payload)) == raw / "t.zip"
    assert (raw / "t.zip").read_bytes() == payload and list(raw.iterdir()) == [raw / "t.zip"]
    assert socket.getdefaulttimeout() is None


def test_download_replaces_a_leftover_partial_file(tmp_path, served):
    www, url = served
    (www / "t.zip").write_bytes(b"the whole file")
    (tmp_path / "t.zip.part").write_bytes(b"the wh")  # a killed download's
    data.download(f"{url}/t.zip", tmp_path / "t.zip")
    assert (tmp_path / "t.zip").read_bytes() == b"the whole file" and not (tmp_path / "t.zip.part").exists()


def test_download_failure_says_what_to_do(tmp_path, served):
    _, url = served
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/t.zip"  # nobody listens there
    dest = tmp_path / "raw" / "t.zip"
    for missing in (closed, f"{url}/missing.zip"):
        with pytest.raises(data.DatasetError, match="could not download") as e:
            data.download(missing, dest)
        assert "--config tiny_imagenet_path=" in str(e.value) and str(dest) in str(e.value)
        assert list(dest.parent.iterdir()) == []


def test_prepare_arrays_and_half_remapping(prepared):
    meta = json.loads((prepared / "prepared" / "meta.json").read_text())
    x = np.load(prepared / "prepared" / "train_images.npy", mmap_mode="r")
    y = np.load(prepared / "prepared" / "train_labels.npy")
    assert x.shape == (6 * 8, 20, 20, 3) and x.dtype == np.uint8
    assert meta["wnids"] == sorted(WNIDS)
    assert np.bincount(y).tolist() == [8] * 6
    split = json.loads((prepared / "split.json").read_text())
    for h in ("A", "B"):
        z = np.load(prepared / f"{h}.npz")
        half = sorted(split[h])
        assert [str(w) for w in z["wnids"]] == half
        # remapped labels are 0..k-1 in sorted-wnid order and point at the right images
        assert sorted(set(z["train_y"].tolist())) == list(range(len(half)))
        for idx, new in zip(z["train_idx"], z["train_y"], strict=True):
            assert meta["wnids"][y[idx]] == half[new]
        assert len(z["val_idx"]) == 3 * len(half)


def test_half_index_rejects_unknown_classes():
    with pytest.raises(data.DatasetError, match="not in the prepared data"):
        data.half_index(np.array([0, 1]), ["n00000001", "n00000002"], ["n99999999"])


def test_per_class_cap_for_dataset_size(prepared, tmp_path):
    data.write_half(prepared / "prepared", prepared / "split.json", "A", tmp_path / "k3.npz", train_per_class=3)
    z = np.load(tmp_path / "k3.npz")
    assert np.bincount(z["train_y"]).tolist() == [3] * len(z["wnids"])


def test_unreadable_image_is_named(tmp_path):
    broken = rewrite_zip(
        make_fake_tiny(tmp_path / "t.zip"),
        tmp_path / "broken.zip",
        lambda name, b: b"not a jpeg" if name.endswith(f"{WNIDS[1]}_4.JPEG") else b,
    )
    with pytest.raises(data.DatasetError, match=f"{WNIDS[1]}_4.JPEG"):
        data.prepare_arrays("tiny-imagenet", broken, sorted(WNIDS), tmp_path / "p", 20, log=DEVNULL)
    assert not (tmp_path / "p" / "meta.json").exists()  # nothing marked complete


def test_imagenet_folder_layout(tmp_path):
    root = tmp_path / "ILSVRC"
    for part in ("train", "val"):
        for w in WNIDS[:3]:
            (root / part / w).mkdir(parents=True)
            from PIL import Image

            Image.new("RGB", (7, 5)).save(root / part / w / f"{w}_1.JPEG")
    src = data.open_source("imagenet", root)
    assert src.wnids() == sorted(WNIDS[:3])
    (root / "val" / WNIDS[0] / f"{WNIDS[0]}_1.JPEG").unlink()
    (root / "val" / WNIDS[0]).rmdir()
    with pytest.raises(data.DatasetError, match="no validation folder"):
        data.open_source("imagenet", root)


def test_select_classes_is_reproducible():
    w = [f"n{i:08d}" for i in range(200)]
    a = data.select_classes(w, 100, 0)
    assert a == data.select_classes(w, 100, 0) and len(a) == 100 and a == sorted(a)
    assert data.select_classes(w, 0, 0) == w


def test_mean_image_crop_matches_cropping_the_difference():
    from transferlab.data.batches import crop_batch

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (6, 10, 10, 3), dtype=np.uint8)
    mean = rng.random((10, 10, 3), dtype=np.float32) * 255
    rows = np.array([4, 1, 3])
    got = crop_batch(imgs, rows, 7, np.random.default_rng(5), True, mean)
    plain = crop_batch(imgs, rows, 7, np.random.default_rng(5), True)
    means = np.repeat(mean[None], 6, axis=0).astype(np.float32)
    expect = plain.astype(np.float32) - crop_batch(means, rows, 7, np.random.default_rng(5), True)
    assert np.allclose(got, expect)
    centre = crop_batch(imgs, rows, 7, None, False, mean)
    assert np.allclose(centre, imgs[rows, 1:8, 1:8].astype(np.float32) - mean[None, 1:8, 1:8])


def test_prepare_writes_mean_image(prepared):
    m = np.load(prepared / "prepared" / "mean_image.npy")
    x = np.load(prepared / "prepared" / "train_images.npy")
    assert m.shape == (20, 20, 3) and np.allclose(m, x.mean(axis=0), atol=1e-3)


def _crop_reference(images, rows, crop, seed, mirror):
    """Pixel-by-pixel definition: draws (row offsets, column offsets, flip uniforms) in that order."""
    rng = np.random.default_rng(seed)
    b, s = len(rows), images.shape[1]
    oy, ox = rng.integers(0, s - crop + 1, size=b), rng.integers(0, s - crop + 1, size=b)
    flip = rng.random(b) < 0.5 if mirror else np.zeros(b, bool)
    out = np.zeros((b, crop, crop, 3), images.dtype)
    for i in range(b):
        for r in range(crop):
            for c in range(crop):
                cc = ox[i] + (crop - 1 - c if flip[i] else c)
                out[i, r, c] = images[rows[i], oy[i] + r, cc]
    return out, flip


@pytest.mark.parametrize("mirror", [True, False])
def test_random_crops_and_flips_match_their_pixel_definition(mirror):
    from transferlab.data.batches import crop_batch

    imgs = np.random.default_rng(1).integers(0, 255, (12, 9, 9, 3), dtype=np.uint8)
    rows = np.array([11, 0, 5, 5, 3, 7, 2, 9])
    expect, flip = _crop_reference(imgs, rows, 6, 42, mirror)
    got = crop_batch(imgs, rows, 6, np.random.default_rng(42), mirror)
    assert got.dtype == np.uint8 and got.shape == (8, 6, 6, 3)
    assert np.array_equal(got, expect)
    assert flip.any() == mirror  # with 8 draws, some flip (seed 42) when mirroring is on


def test_dev_slice_is_carved_from_training_images(prepared, tmp_path):
    res, out = half_file(prepared, tmp_path, dev_per_class=3)
    k = len(res["wnids"])
    assert len(res["dev_idx"]) == 3 * k and len(res["train_idx"]) == 5 * k  # 8 training images per class
    assert not set(res["dev_idx"]) & set(res["train_idx"])
    labels = np.load(prepared / "prepared/train_labels.npy")
    full, _ = data.half_index(
        labels, data.json.loads((prepared / "prepared/meta.json").read_text())["wnids"], res["wnids"]
    )
    assert set(res["dev_idx"]) | set(res["train_idx"]) == set(full)
    assert np.bincount(res["dev_y"]).tolist() == [3] * k
    loaded = data.load_half(prepared / "prepared", out)
    assert loaded["dev"][0] is loaded["train"][0] and loaded["dev"][0] is not loaded["val"][0]  # dev reads train images
    assert loaded["paths"]["train"].name == "train_images.npy"
    assert (loaded["dev"][1] == res["dev_idx"]).all() and (loaded["val"][1] == res["val_idx"]).all()
    assert loaded["full_n_train"] == 5 * k


def test_dev_slice_is_the_same_for_every_dataset_size(prepared, tmp_path):
    full, _ = half_file(prepared, tmp_path, dev_per_class=3)
    capped, _ = half_file(prepared, tmp_path, dev_per_class=3, train_per_class=2)
    assert (capped["dev_idx"] == full["dev_idx"]).all()
    assert len(capped["train_idx"]) == 2 * len(full["wnids"]) and set(capped["train_idx"]) < set(full["train_idx"])
    assert capped["full_n_train"] == full["full_n_train"]


def test_dev_slice_larger_than_a_class_is_a_clear_error(prepared, tmp_path):
    with pytest.raises(data.DatasetError, match="dev_per_class=8"):
        half_file(prepared, tmp_path, dev_per_class=8)


def test_more_classes_than_the_data_holds_is_an_error_naming_the_maximum():
    w = [f"n{i:08d}" for i in range(200)]
    with pytest.raises(data.DatasetError, match=r"data.classes=300, but the dataset has 200 classes: give at most 200"):
        data.select_classes(w, 300, 0)
    assert data.select_classes(w, 200, 0) == sorted(w)


def test_a_cap_above_what_a_class_holds_is_said_and_recorded(tmp_path, fake_tiny):
    """train_per_class=20 on classes of 8 training images: each gives its 8, the log says so once, and meta.json
    records the images per class actually used beside the cap asked for."""
    log = io.StringIO()
    meta = data.prepare_arrays("tiny-imagenet", fake_tiny, WNIDS[:3], tmp_path / "p", 16, 20, 2, log=log)
    notes = [line for line in log.getvalue().splitlines() if line.startswith("note:")]
    assert notes == [
        "note: data.train_per_class=20, but 3 of 3 classes hold fewer train images (as few as 8): each gives what it "
        "has, 8-8 per class (recorded in meta.json as images_per_class)"
    ]
    assert meta["train_per_class"] == 20 and meta["images_per_class"] == {"train": [8, 8], "val": [2, 2]}
    assert json.loads((tmp_path / "p/meta.json").read_text())["images_per_class"]["train"] == [8, 8]


def test_a_second_run_of_the_same_data_and_settings_links_the_shared_arrays(fake_tiny, tmp_path):
    """The paper and resnet18 presets read the same 262 GB: the second preparation links the first's arrays from
    the cache (the same files on disk, nothing decoded), and other settings or other data get their own entry."""
    cache, log = tmp_path / "cache", io.StringIO()
    args = ("tiny-imagenet", fake_tiny, WNIDS[:3])
    one = data.prepare_arrays(*args, tmp_path / "one", 16, log=log, identity="md5:a", cache=cache)
    [entry] = list(cache.iterdir())
    assert (entry / "train_images.npy").stat().st_ino == (tmp_path / "one/train_images.npy").stat().st_ino
    assert (tmp_path / "one/train_images.npy").is_symlink()  # Snakemake touches links, never the shared file
    log = io.StringIO()
    two = data.prepare_arrays(*args, tmp_path / "two", 16, log=log, identity="md5:a", cache=cache)
    assert "shared from" in log.getvalue() and "decoded" not in log.getvalue()
    assert two == one
    for name in data.ARRAYS:
        assert (tmp_path / "two" / name).stat().st_ino == (tmp_path / "one" / name).stat().st_ino
    mtime = (entry / "train_images.npy").stat().st_mtime_ns
    os.utime(tmp_path / "two/train_images.npy", follow_symlinks=False)  # what Snakemake does when a job ends
    assert (entry / "train_images.npy").stat().st_mtime_ns == mtime
    data.prepare_arrays(*args, tmp_path / "three", 20, log=io.StringIO(), identity="md5:a", cache=cache)
    data.prepare_arrays(*args, tmp_path / "four", 16, log=io.StringIO(), identity="md5:b", cache=cache)
    assert len(list(cache.iterdir())) == 3
    assert (tmp_path / "four/train_images.npy").stat().st_ino != (tmp_path / "one/train_images.npy").stat().st_ino


def test_staging_copies_once_per_node_and_trains_the_same(prepared, tmp_path):
    """stage_dir: the first job copies the training images into the node-local folder under a lock, the node's
    other jobs (here a second process started at the same time) wait and read that copy; training from it gives
    bit-identical weights."""
    import subprocess
    import sys

    import torch
    from conftest import train_small

    src = prepared / "prepared/train_images.npy"
    node = tmp_path / "node-local"
    code = (
        "import sys\nfrom transferlab.data.datasets import stage\n"
        f"print(stage({str(src)!r}, {str(node)!r}, sys.stdout))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    copies = list(node.glob("transferlab-*/train_images.npy"))
    assert len(copies) == 1 and copies[0].read_bytes() == src.read_bytes()
    said = "".join(outs)
    assert said.count("images: staged ") == 1 and said.count("already on this node") == 1, said
    assert not list(node.glob("transferlab-*/*.tmp*"))  # no half-made copy left
    plain = train_small(prepared, "baseA", "A", name="plain")
    staged = train_small(prepared, "baseA", "A", name="staged", stage_dir=str(node))
    assert all(torch.equal(plain.state[k], staged.state[k]) for k in plain.state)
