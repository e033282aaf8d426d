"""Prepared images stored as JPEG: one indexed file per part, read in large sequential blocks or by offset,
decoded on the device that trains (torchvision's batched JPEG decoding; on the CPU the same call).

The detail: docs/data.md, *Stored formats*."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from transferlab.errors import DatasetError

FORMATS = ("uint8", "jpeg")
HEADER_DTYPE = np.dtype("<i8")


def encode(img: np.ndarray, quality: int) -> bytes:
    """One H x W x 3 uint8 image as a baseline JPEG at ``quality`` (libjpeg's 4:2:0 chroma subsampling)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality), subsampling="4:2:0")
    return buf.getvalue()


def indexed_file(path, blobs_files: list[tuple[Path, np.ndarray]]) -> int:
    """Write the indexed file of a part at ``path``: a 1-D uint8 ``.npy`` holding the images' end offsets (n + 1
    little-endian int64, the first 0) and then the JPEG files back to back, from ``blobs_files`` (a chunk's
    file of JPEGs and their lengths, in order), copied in blocks. Returns the number of images."""
    lengths = np.concatenate([np.asarray(n, dtype=np.int64) for _, n in blobs_files]) if blobs_files else np.zeros(0)
    offsets = np.zeros(len(lengths) + 1, dtype=HEADER_DTYPE)
    np.cumsum(lengths, out=offsets[1:])
    head = offsets.tobytes()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(len(head) + int(offsets[-1]),))
    out[: len(head)] = np.frombuffer(head, dtype=np.uint8)
    at = len(head)
    for blob, n in blobs_files:
        data = np.fromfile(blob, dtype=np.uint8)
        if len(data) != int(np.sum(n)):
            raise DatasetError(f"{blob} holds {len(data)} bytes, its index says {int(np.sum(n))}; prepare again")
        out[at : at + len(data)] = data
        at += len(data)
    out.flush()
    del out
    return len(lengths)


class JpegImages:
    """The images of one part in an indexed JPEG file: ``len``, ``shape`` (n, size, size, 3) as for the uint8
    arrays, the encoded bytes of chosen rows (:meth:`encoded`, what a GPU decodes) and their decoded crops
    (:meth:`crops`, on the host). Pickled for a loader worker, it carries its path and reopens the map."""

    def __init__(self, path, n: int, size: int):
        self.path, self.n, self.size = str(path), int(n), int(size)
        self._open()

    def _open(self):
        raw = np.load(self.path, mmap_mode="r")
        head = (self.n + 1) * HEADER_DTYPE.itemsize
        if raw.dtype != np.uint8 or raw.ndim != 1 or len(raw) < head:
            raise DatasetError(f"{self.path} is not an indexed JPEG file of {self.n} images")
        self.offsets = np.frombuffer(raw[:head].tobytes(), dtype=HEADER_DTYPE).astype(np.int64) + head
        if self.offsets[0] != head or self.offsets[-1] != len(raw) or np.any(np.diff(self.offsets) <= 0):
            raise DatasetError(f"{self.path}: its index does not match its {len(raw)} bytes (truncated or corrupt)")
        self.raw = np.asarray(raw)

    def __getstate__(self):
        return {"path": self.path, "n": self.n, "size": self.size}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._open()

    def __len__(self):
        return self.n

    @property
    def shape(self):
        return (self.n, self.size, self.size, 3)

    @property
    def nbytes(self) -> int:
        return len(self.raw)

    def encoded(self, rows):
        """The JPEG bytes of ``rows`` as one uint8 tensor, back to back, and their lengths (int64)."""
        import torch

        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        out = np.concatenate([self.raw[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)])
        return torch.from_numpy(out), torch.from_numpy(ends - starts)

    def crops(self, rows, crop: int, oy, ox) -> np.ndarray:
        """Decoded crops of ``rows`` at offsets ``oy``, ``ox``: uint8 NHWC (the host path: evaluation, CPU training).
        Decoded with PIL, whose libjpeg-turbo gives the same pixels as torchvision's CPU decoder (tested) and
        which a job has imported already (torchvision's import costs a CPU job about a second)."""
        from PIL import Image

        out = np.empty((len(rows), crop, crop, 3), dtype=np.uint8)
        for i, r in enumerate(np.asarray(rows, dtype=np.int64).tolist()):
            with Image.open(io.BytesIO(self.raw[self.offsets[r] : self.offsets[r + 1]].tobytes())) as im:
                px = np.asarray(im.convert("RGB"))
            y0, x0 = int(oy[i]), int(ox[i])
            out[i] = px[y0 : y0 + crop, x0 : x0 + crop]
        return out


def decode(data, lengths, device: str):
    """JPEG bytes (``data``, one uint8 CPU tensor back to back, with ``lengths``) decoded on ``device`` in one
    batched call: uint8 N x S x S x 3 (NHWC)."""
    import warnings

    import torch

    with warnings.catch_warnings():  # torchvision 0.29 points to TorchCodec, its successor (docs/data.md)
        warnings.filterwarnings("ignore", "The image decoding and encoding capabilities", DeprecationWarning)
        from torchvision.io import ImageReadMode, decode_jpeg

        parts = list(torch.split(data, [int(n) for n in lengths.tolist()]))
        return torch.stack(decode_jpeg(parts, mode=ImageReadMode.RGB, device=device)).permute(0, 2, 3, 1)


def decode_crops(data, lengths, crop: int, oy, ox, device: str):
    """:func:`decode`, then the crops at the offsets ``oy``, ``ox`` cut on ``device``: uint8 N x crop x crop x 3."""
    import torch

    images = decode(data, lengths, device)
    dev = images.device
    rows = torch.arange(len(images), device=dev)
    return crops_at(images, rows, crop, torch.as_tensor(oy, device=dev), torch.as_tensor(ox, device=dev))


def crops_at(images, rows, crop: int, oy, ox):
    """uint8 NHWC crops of ``images`` (N x S x S x 3, on any device) rows ``rows`` at offsets ``oy``, ``ox``
    (tensors there), by one indexing: the device-side twin of :func:`~transferlab.data.batches.cut_crops`."""
    import torch

    ar = torch.arange(crop, device=images.device)
    r = oy.view(-1, 1) + ar
    c = ox.view(-1, 1) + ar
    return images[rows.view(-1, 1, 1), r[:, :, None], c[:, None, :]]
