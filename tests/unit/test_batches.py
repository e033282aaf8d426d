"""The batch pipeline (transferlab/data/batches.py): what crosses to the device, and that the device side equals
the host-side definition bit for bit."""

import pickle

import numpy as np
import pytest
import torch

from transferlab.data.batches import (
    DeviceTransform,
    StepBatches,
    crop_batch,
    epoch_order,
    eval_batches,
    loader,
    seed_of,
)

SIZE, CROP, BS, N = 20, 16, 12, 70


@pytest.fixture
def arrays():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (N, SIZE, SIZE, 3), dtype=np.uint8)
    idx = rng.permutation(N)[:50]  # the half's rows of the shared array
    y = rng.integers(0, 5, 50).astype(np.int16)
    mean_image = (rng.random((SIZE, SIZE, 3)) * 255).astype(np.float32)
    return images, idx, y, mean_image


def _host(images, idx, y, seed, spe, g, mean_image, mean, std, channels_last):
    """The host-side definition (what the trainer computed before the device side existed)."""
    e, b = divmod(g, spe)
    rows = epoch_order(seed, e, len(idx))[b * BS : (b + 1) * BS]
    x = torch.from_numpy(
        crop_batch(images, idx[rows], CROP, np.random.default_rng(seed_of(seed, e, b)), True, mean_image)
    ).permute(0, 3, 1, 2)
    if not channels_last:
        x = x.contiguous()
    if mean_image is not None:
        return x, y[rows]
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return x.float() * (1.0 / (255.0 * s)) + (-m / s), y[rows]


@pytest.mark.parametrize("mode", ["channel", "mean_image"])
@pytest.mark.parametrize("channels_last", [True, False])
def test_device_side_equals_the_host_definition_bit_for_bit(arrays, mode, channels_last):
    images, idx, y, mean_image = arrays
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    spe = len(idx) // BS  # 4 steps per epoch: steps 0-9 cross two epoch boundaries
    ds = StepBatches(
        images, idx, y, seed=11, steps_per_epoch=spe, batch_size=BS, start=2, stop=10, crop=CROP, mirror=True
    )
    t = (
        DeviceTransform("cpu", mean_image=mean_image)
        if mode == "mean_image"
        else DeviceTransform("cpu", mean=mean, std=std)
    )
    flips = 0
    for i in range(len(ds)):
        xb, yb, oy, ox, flip = ds[i]
        assert xb.dtype == torch.uint8 and xb.shape == (BS, CROP, CROP, 3)  # uint8 crosses, not float32
        got = t(xb, channels_last, oy, ox, flip)
        want, wy = _host(
            images, idx, y, 11, spe, 2 + i, mean_image if mode == "mean_image" else None, mean, std, channels_last
        )
        assert got.dtype == torch.float32 and got.shape == want.shape
        assert torch.equal(got, want), (mode, i)
        assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
        assert (yb.numpy() == wy).all()
        flips += int(flip.sum())
    assert 0 < flips < len(ds) * BS  # both mirrored and unmirrored crops were compared


def test_centre_crops_for_evaluation_equal_the_host_definition(arrays):
    images, idx, y, mean_image = arrays
    t = DeviceTransform("cpu", mean_image=mean_image)
    got = torch.cat([t(xb, True) for xb, _ in eval_batches(images, idx, y, CROP, 16)])
    want = torch.from_numpy(crop_batch(images, idx, CROP, None, False, mean_image)).permute(0, 3, 1, 2)
    assert torch.equal(got, want)


def test_one_loader_spans_epochs_in_order_and_workers_change_nothing(arrays):
    images, idx, y, _ = arrays
    kw = dict(seed=5, steps_per_epoch=4, batch_size=BS, start=3, stop=11, crop=CROP, mirror=True)
    inline = [item for item in loader(StepBatches(images, idx, y, **kw), 0, False, 2)]
    workers = [item for item in loader(StepBatches(images, idx, y, **kw), 2, False, 2)]
    assert len(inline) == len(workers) == 8
    for a, b in zip(inline, workers, strict=True):
        assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    # step 4 is batch 0 of epoch 1: its images are the start of epoch 1's order
    assert (inline[1][1].numpy() == y[epoch_order(5, 1, len(idx))[:BS]]).all()


def test_a_pickled_dataset_carries_no_pixels(arrays, tmp_path):
    images, idx, y, _ = arrays
    p = tmp_path / "train_images.npy"
    np.save(p, images)
    ds = StepBatches(
        np.load(p, mmap_mode="r"),
        idx,
        y,
        seed=1,
        steps_per_epoch=4,
        batch_size=BS,
        start=0,
        stop=4,
        crop=CROP,
        mirror=False,
        images_path=p,
    )
    blob = pickle.dumps(ds)
    assert len(blob) < images.nbytes // 4
    assert all(torch.equal(u, v) for u, v in zip(ds[1], pickle.loads(blob)[1], strict=True))


def test_the_device_feed_passes_cpu_batches_unchanged_and_reads_one_ahead():
    """On the CPU the feed hands over the loader's own tensors (the batches, crops and flips of the CPU path
    are today's, bit for bit); it asks for batch k + 1 before batch k is used, the order on CUDA, where the
    next copy runs beside the current step."""
    from transferlab.data.batches import DeviceFeed

    source = [tuple(torch.full((2,), float(i)) for _ in range(5)) for i in range(3)]
    taken = []

    def loader():
        for b in source:
            taken.append(b)
            yield b

    feed = DeviceFeed(loader(), "cpu")
    first = next(feed)
    assert first is source[0] and len(taken) == 2
    assert [b is s for b, s in zip([first, *feed], source, strict=True)] == [True] * 3
