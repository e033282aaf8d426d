"""The batch pipeline: which images and pixels each training batch holds, how they reach the device, and
the normalisation done there.

The detail: docs/library.md, `transferlab/data/batches.py`."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import numpy as np
import torch

from transferlab.data.encoded import crops_at, decode, decode_crops
from transferlab.errors import ConfigError


def seed_of(*parts) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def epoch_order(seed: int, epoch: int, n_train: int) -> np.ndarray:
    """The order of the training images in one epoch: a function of (network seed, epoch) alone."""
    return np.random.default_rng(seed_of(seed, epoch)).permutation(n_train)


# ----------------------------------------------------------------------------- host side
def crop_draws(rng: np.random.Generator | None, b: int, size: int, crop: int, mirror: bool):
    """Row offsets, column offsets and mirror flags of ``b`` crops; centre crops, no mirroring without ``rng``.

    The random draws are, in this order: ``b`` row offsets, ``b`` column offsets, then (with ``mirror``)
    ``b`` uniforms (< 0.5 = flip)."""
    if rng is None:
        o = (size - crop) // 2
        return np.full(b, o), np.full(b, o), np.zeros(b, dtype=bool)
    oy = rng.integers(0, size - crop + 1, size=b)
    ox = rng.integers(0, size - crop + 1, size=b)
    flip = rng.random(b) < 0.5 if mirror else np.zeros(b, dtype=bool)
    return oy, ox, flip


def cut_crops(images: np.ndarray, rows, crop: int, oy, ox) -> np.ndarray:
    """The crops as uint8 NHWC, unmirrored: each one slice copy, so only the cropped pixels are read (images
    stored as JPEG are decoded here, on the host, then cropped)."""
    if hasattr(images, "crops"):
        return images.crops(rows, crop, oy, ox)
    rows = np.asarray(rows)
    out = np.empty((len(rows), crop, crop, images.shape[3]), dtype=images.dtype)
    for i in range(len(rows)):
        y0, x0 = int(oy[i]), int(ox[i])
        out[i] = images[rows[i], y0 : y0 + crop, x0 : x0 + crop]
    return out


def crop_batch(
    images: np.ndarray,
    rows: np.ndarray,
    crop: int,
    rng: np.random.Generator | None,
    mirror: bool,
    mean_image: np.ndarray | None = None,
):
    """Host-side definition of a batch: random (``rng`` given) or centre crops, optionally mirrored, as uint8
    NHWC; with ``mean_image`` (S x S x 3) the same crop and mirror of the mean is subtracted (float32).

    The trainer does the mirroring and subtraction on the device (:class:`DeviceTransform`); this is what
    that must equal."""
    rows = np.asarray(rows)
    oy, ox, flip = crop_draws(rng, len(rows), images.shape[1], crop, mirror)
    out = np.empty(
        (len(rows), crop, crop, images.shape[3]), dtype=np.float32 if mean_image is not None else images.dtype
    )
    for i in range(len(rows)):
        y0, x0 = int(oy[i]), int(ox[i])
        patch = images[rows[i], y0 : y0 + crop, x0 : x0 + crop]
        if mean_image is not None:
            patch = patch - mean_image[y0 : y0 + crop, x0 : x0 + crop]  # float32
        out[i] = patch[:, ::-1] if flip[i] else patch
    return out


class StepBatches(torch.utils.data.Dataset):
    """Training batches of global steps ``start .. stop - 1``; step ``g`` is batch ``g % steps_per_epoch`` of
    epoch ``g // steps_per_epoch``.

    An item is ``(crops, labels, oy, ox, flip)``: uint8 NHWC crops, int64 labels, and the draws the device
    side needs.  Pickled for a worker started by spawn or forkserver (Python 3.14's default), it carries
    the image array's path and the worker reopens the memory map; pickling the array would copy the whole
    training set to every worker.
    """

    def __init__(
        self,
        images,
        idx,
        y,
        *,
        seed,
        steps_per_epoch,
        batch_size,
        start,
        stop,
        crop,
        mirror,
        images_path=None,
        encoded=False,
        resident=False,
    ):
        self.images, self.idx, self.y = images, idx, y
        self.seed, self.steps_per_epoch, self.batch_size, self.start, self.stop = (
            seed,
            steps_per_epoch,
            batch_size,
            start,
            stop,
        )
        self.crop, self.mirror = crop, mirror
        self.images_path = None if images_path is None else str(images_path)
        # JPEG images whose decoding happens on the device: an item carries their bytes, not crops
        self.encoded = bool(encoded)
        # the images are held on the device (:class:`ResidentImages`): an item carries their rows in the half
        self.resident = bool(resident)
        self._order = (None, None)  # (epoch, its image order): one permutation per epoch and process

    def __getstate__(self):
        state = dict(self.__dict__)
        if self.images_path is not None and isinstance(self.images, np.ndarray):  # JpegImages pickle by path
            state["images"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.images is None:
            self.images = np.asarray(np.load(self.images_path, mmap_mode="r"))

    def __len__(self):
        return max(self.stop - self.start, 0)

    def order(self, epoch: int) -> np.ndarray:
        if self._order[0] != epoch:
            self._order = (epoch, epoch_order(self.seed, epoch, len(self.idx)))
        return self._order[1]

    def __getitem__(self, i):
        epoch, b = divmod(self.start + i, self.steps_per_epoch)
        rows = self.order(epoch)[b * self.batch_size : (b + 1) * self.batch_size]
        rng = np.random.default_rng(seed_of(self.seed, epoch, b))
        oy, ox, flip = crop_draws(rng, len(rows), self.images.shape[1], self.crop, self.mirror)
        if self.resident:  # (rows in the half, labels, draws): cut on the device by :class:`ResidentImages`
            return torch.from_numpy(np.asarray(rows, dtype=np.int64)), *self._rest(rows, oy, ox, flip)
        if self.encoded:  # (bytes, their lengths, labels, draws): decoded and cropped by :class:`DeviceFeed`
            data, lengths = self.images.encoded(self.idx[rows])
            return data, lengths, *self._rest(rows, oy, ox, flip)
        x = cut_crops(self.images, self.idx[rows], self.crop, oy, ox)
        return torch.from_numpy(x), *self._rest(rows, oy, ox, flip)

    def _rest(self, rows, oy, ox, flip):
        return (
            torch.from_numpy(self.y[rows].astype(np.int64)),
            torch.from_numpy(oy),
            torch.from_numpy(ox),
            torch.from_numpy(flip),
        )


def _worker_init(_):
    # SIGTERM is for the trainer (checkpoint, then exit); workers must not die first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(1)


def loader(ds: StepBatches, workers: int, pin: bool, prefetch: int):
    """An iterator over ``ds`` in order: in this process (``workers`` 0) or from worker processes started
    once, with pinned memory on a GPU."""
    if workers <= 0:
        return (ds[i] for i in range(len(ds)))
    return iter(
        torch.utils.data.DataLoader(
            ds,
            batch_size=None,
            shuffle=False,
            num_workers=workers,
            pin_memory=pin,
            prefetch_factor=prefetch,
            worker_init_fn=_worker_init,
        )
    )


class DeviceFeed:
    """The batches of ``batches`` (tuples of host tensors) on ``device``, the next batch's host-to-device copy
    running on a side stream while the current step computes. A batch of JPEG bytes (:class:`StepBatches`
    with ``encoded``) is decoded and cropped on ``device`` (``crop`` px), the CPU included.

    On CUDA every tensor of a batch (crops, labels, crop offsets, flips) is copied from pinned memory
    (pinned here where the loader has not pinned it) with ``non_blocking``, so no copy waits for the host or
    holds up the compute stream; the step's stream waits for the copy's end, and the memory is marked as
    used there (``record_stream``) so that the allocator does not hand it out while the step reads it. On
    the CPU the batches pass unchanged."""

    def __init__(self, batches, device: str, crop: int | None = None):
        self.batches, self.device, self.crop = iter(batches), device, crop
        self.stream = torch.cuda.Stream(device) if device.startswith("cuda") else None
        self.ahead = self._fetch()

    def _fetch(self):
        batch = next(self.batches, None)
        if batch is None or (self.stream is None and len(batch) == 5):
            return batch
        encoded = len(batch) == 6  # JPEG bytes and their lengths instead of crops: decoded here, on the device
        host = batch[2:] if encoded else batch
        with torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext():
            if self.stream is not None:
                host = [(t if t.is_pinned() else t.pin_memory()).to(self.device, non_blocking=True) for t in host]
            if not encoded:
                return tuple(host)
            y, oy, ox, flip = host
            return decode_crops(batch[0], batch[1], self.crop, oy, ox, self.device), y, oy, ox, flip

    def __iter__(self):
        return self

    def __next__(self):
        batch = self.ahead
        if batch is None:
            raise StopIteration
        if self.stream is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_stream(self.stream)
            for t in batch:
                t.record_stream(current)
        self.ahead = self._fetch()  # issued before the step that uses ``batch``: the copy overlaps it
        return batch


RESIDENT_RESERVE = 16 << 30  # device memory left to the model, its optimizer state and activations


def resident_plan(setting: str, need: int, device: str, limit_gb: float = 0, free=None) -> tuple[bool, str]:
    """Whether a job holds its training images in memory (``train.resident``), and why, for the job's log:
    ``need`` bytes against ``limit_gb`` (or, 0, the free memory of a CUDA device less RESIDENT_RESERVE; on the
    CPU nothing: its page cache holds the arrays already). ``free``: the device's free bytes (a test's)."""
    gib = need / 2**30
    if setting == "off":
        return False, "streaming: train.resident is off"
    if setting == "on":
        return True, f"resident: train.resident is on ({gib:.2f} GiB)"
    if limit_gb:
        budget, source = limit_gb * 2**30, f"train.resident_memory_gb {limit_gb:g}"
    elif device.startswith("cuda"):
        free = torch.cuda.mem_get_info(torch.device(device))[0] if free is None else free
        budget, source = free - RESIDENT_RESERVE, f"{free / 2**30:.1f} GiB free on {device} less 16 GiB"
    else:
        return False, "streaming: on the CPU the page cache holds the prepared images (train.resident_memory_gb: 0)"
    if need <= budget:
        return True, f"resident: the {gib:.2f} GiB of training images fit in {source}"
    return False, f"streaming: the {gib:.2f} GiB of training images do not fit in {source}"


class ResidentImages:
    """The training images of a half, held as uint8 (n, size, size, 3) on ``device`` in the half's order, loaded
    once in blocks (images stored as JPEG decoded there); :meth:`crops` cuts a batch of them by indexing."""

    def __init__(self, images, idx, device: str, block: int = 1024):
        n, size = len(idx), images.shape[1]
        self.data = torch.empty((n, size, size, 3), dtype=torch.uint8, device=device)
        for s in range(0, n, block):
            rows = np.asarray(idx[s : s + block])
            if hasattr(images, "encoded"):
                part = decode(*images.encoded(rows), device)
            else:
                part = torch.from_numpy(np.ascontiguousarray(images[rows]))
            self.data[s : s + len(rows)] = part

    def crops(self, rows, crop: int, oy, ox) -> torch.Tensor:
        """uint8 NHWC crops of the half's images ``rows`` (a tensor on the device) at offsets ``oy``, ``ox``."""
        return crops_at(self.data, rows, crop, oy, ox)


# ----------------------------------------------------------------------------- device side
class DeviceTransform:
    """uint8 NHWC crops on the device -> the network's float32 input, NCHW (channels-last memory when asked).

    Channel mode: ``x / 255`` standardised per channel (``mean``, ``std`` in 0-1 units).  Mean-image mode
    (Caffe): raw 0-255 pixels minus the mean image cut at the crop's offsets, no scaling.  Mirroring
    (``flip``) comes after the subtraction, so the mean is mirrored with its image."""

    def __init__(self, device, *, mean=None, std=None, mean_image: np.ndarray | None = None):
        self.device = device
        self.mean_image = None
        if mean_image is not None:
            self.mean_image = torch.as_tensor(np.asarray(mean_image, dtype=np.float32), device=device)
        else:
            m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
            s = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
            self.scale = 1.0 / (255.0 * s)
            self.shift = -m / s

    def _mean_crops(self, oy, ox, b: int, crop: int) -> torch.Tensor:
        ar = torch.arange(crop, device=self.device)
        if oy is None:  # centre crops
            o = (self.mean_image.shape[0] - crop) // 2
            return self.mean_image[o : o + crop, o : o + crop].expand(b, crop, crop, self.mean_image.shape[2])
        rows = torch.as_tensor(oy, device=self.device).view(-1, 1) + ar
        cols = torch.as_tensor(ox, device=self.device).view(-1, 1) + ar
        return self.mean_image[rows[:, :, None], cols[:, None, :]]

    def __call__(self, x: torch.Tensor, channels_last: bool, oy=None, ox=None, flip=None) -> torch.Tensor:
        b, crop = x.shape[0], x.shape[1]
        if self.mean_image is not None:
            x = x.float() - self._mean_crops(oy, ox, b, crop)
        if flip is not None:
            flip = torch.as_tensor(flip, device=x.device)
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(2), x)
        x = x.permute(0, 3, 1, 2)  # NCHW view of NHWC memory == channels_last
        if not channels_last:
            x = x.contiguous()
        if self.mean_image is not None:
            return x
        return x.float() * self.scale + self.shift


def make_transform(meta: dict, prepared_dir, mode: str, device) -> DeviceTransform:
    """The device transform of a prepared dataset: ``mode`` is ``channel`` or ``mean_image``."""
    if mode == "channel":
        return DeviceTransform(device, mean=meta["mean"], std=meta["std"])
    if mode == "mean_image":
        p = Path(prepared_dir) / "mean_image.npy"
        if not p.exists():
            raise ConfigError(f"normalize: mean_image needs {p}; re-run the prepare_data rule to write it")
        return DeviceTransform(device, mean_image=np.load(p))
    raise ConfigError(f"train.normalize must be 'channel' or 'mean_image', got {mode!r}")


def eval_batches(images, idx, y, crop: int, batch_size: int):
    """Centre crops of ``idx`` in order, ``batch_size`` at a time: ``(uint8 crops, int64 labels)``."""
    for s in range(0, len(idx), batch_size):
        rows = np.asarray(idx[s : s + batch_size])
        oy, ox, _ = crop_draws(None, len(rows), images.shape[1], crop, False)
        yield (
            torch.from_numpy(cut_crops(images, rows, crop, oy, ox)),
            torch.from_numpy(np.asarray(y[s : s + batch_size], dtype=np.int64)),
        )
