"""Linear CKA between the transfer units of two networks, estimated over minibatches.

The detail: docs/library.md, `transferlab/analysis/cka.py`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def _gram(x: torch.Tensor) -> torch.Tensor:
    """Linear kernel X Xᵀ of a (m, ...) feature tensor, flattened to (m, d), in float64."""
    flat = x.reshape(x.shape[0], -1).double()
    return flat @ flat.T


def hsic_unbiased(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Unbiased HSIC (Song et al. 2012) of two m x m kernel matrices (m > 3), as a float64 scalar."""
    import torch

    m = K.shape[0]
    if m <= 3:
        raise ValueError(f"unbiased HSIC needs a batch of more than 3 examples, got {m}")
    if K.shape != (m, m) or L.shape != (m, m):
        raise ValueError(f"HSIC needs two square m x m kernel matrices, got {tuple(K.shape)} and {tuple(L.shape)}")
    off = 1 - torch.eye(m, dtype=torch.float64, device=K.device)
    Kt, Lt = K.double() * off, L.double() * off
    trace = (Kt * Lt.T).sum()
    sums = Kt.sum() * Lt.sum() / ((m - 1) * (m - 2))
    cross = Kt.sum(0) @ Lt.sum(1)
    return (trace + sums - 2 / (m - 2) * cross) / (m * (m - 3))


class MinibatchCKA:
    """Linear CKA of ``n_pairs`` feature pairs, accumulated batch by batch (Nguyen et al. 2021)."""

    def __init__(self, n_pairs: int) -> None:
        if n_pairs < 1:
            raise ValueError(f"MinibatchCKA needs at least one feature pair, got n_pairs={n_pairs}")
        self.n_pairs = n_pairs
        self.batches = 0
        self._xy = np.zeros(n_pairs)
        self._xx = np.zeros(n_pairs)
        self._yy = np.zeros(n_pairs)

    def update(self, xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor]) -> None:
        """Add one batch: ``xs[i]`` and ``ys[i]`` are (m, ...) features of the same m images."""
        if len(xs) != self.n_pairs or len(ys) != self.n_pairs:
            raise ValueError(f"update needs {self.n_pairs} features on each side, got {len(xs)} and {len(ys)}")
        sizes = {t.shape[0] for t in (*xs, *ys)}
        if len(sizes) != 1:
            raise ValueError(f"every feature tensor of a batch must have the same batch size, got {sorted(sizes)}")
        m = sizes.pop()
        if m <= 3:
            raise ValueError(f"minibatch CKA needs batches of more than 3 images, got {m}")
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            K = _gram(x)
            L = _gram(y).to(K.device)
            self._xy[i] += hsic_unbiased(K, L).item()
            self._xx[i] += hsic_unbiased(K, K).item()
            self._yy[i] += hsic_unbiased(L, L).item()
        self.batches += 1

    def value(self) -> np.ndarray:
        """CKA of each pair: mean HSIC(K, L) / sqrt(mean HSIC(K, K) * mean HSIC(L, L)); NaN where undefined."""
        if self.batches == 0:
            raise ValueError("MinibatchCKA.value() was called before any batch was added with update()")
        out = np.full(self.n_pairs, np.nan)
        ok = (self._xx > 0) & (self._yy > 0)
        out[ok] = self._xy[ok] / np.sqrt(self._xx[ok] * self._yy[ok])
        return out


def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Full-batch (biased) linear CKA of Kornblith et al. 2019: ||YᵀX||²_F / (||XᵀX||_F ||YᵀY||_F), centred."""
    import torch

    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"linear CKA needs features of the same examples, got {X.shape[0]} and {Y.shape[0]} rows")
    x = torch.as_tensor(X).reshape(X.shape[0], -1).double()
    y = torch.as_tensor(Y).reshape(Y.shape[0], -1).double().to(x.device)
    x = x - x.mean(0)
    y = y - y.mean(0)
    num = torch.linalg.matrix_norm(y.T @ x) ** 2
    return (num / (torch.linalg.matrix_norm(x.T @ x) * torch.linalg.matrix_norm(y.T @ y))).item()


def cka_unbiased(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Full-batch CKA from the unbiased HSIC estimator on all examples at once: what the minibatch average
    estimates when every batch is a random sample of the examples."""
    K, L = _gram(torch_tensor(X)), _gram(torch_tensor(Y))
    return (hsic_unbiased(K, L) / (hsic_unbiased(K, K) * hsic_unbiased(L, L)).sqrt()).item()


def torch_tensor(x):
    import torch

    return torch.as_tensor(x)


def image_order(n: int, seed: int = 0) -> np.ndarray:
    """One fixed random order of ``n`` images, the same for every network measured.

    Prepared validation images are stored class by class; batched in that order, each batch would hold
    a few classes only, and the minibatch estimator, which assumes every batch is a random sample of the
    images, would measure the structure within those few classes instead of the whole set's (several
    times the full-batch value on class-ordered synthetic features, tests/unit/test_cka.py)."""
    return np.random.default_rng(seed).permutation(n)


def _device(model: torch.nn.Module, fallback: torch.device) -> torch.device:
    """The device of the model's first parameter (``fallback`` for a model without parameters)."""
    return next((p.device for p in model.parameters()), fallback)


def cka_between(
    model_a: torch.nn.Module, model_b: torch.nn.Module, batches: Iterable[torch.Tensor], units: Sequence[int]
) -> np.ndarray:
    """CKA between unit u of ``model_a`` and unit u of ``model_b`` for each u in ``units`` (1-based), in eval
    mode and without autograd, over ``batches`` of normalised inputs; each model's train/eval mode is restored."""
    import torch

    if not units:
        raise ValueError("cka_between needs at least one unit index, got none")
    modes = (model_a.training, model_b.training)
    acc = MinibatchCKA(len(units))
    try:
        model_a.eval()
        model_b.eval()
        with torch.inference_mode():
            for x in batches:
                outs_a = model_a.unit_outputs(x.to(_device(model_a, x.device)))
                outs_b = model_b.unit_outputs(x.to(_device(model_b, x.device)))
                n = min(len(outs_a), len(outs_b))
                bad = [u for u in units if not 1 <= u <= n]
                if bad:
                    raise ValueError(f"unit indices must lie in 1..{n} (the models' transfer units), got {bad}")
                acc.update([outs_a[u - 1] for u in units], [outs_b[u - 1] for u in units])
    finally:
        model_a.train(modes[0])
        model_b.train(modes[1])
    if acc.batches == 0:
        raise ValueError("cka_between got no batches: the iterable of input tensors was empty")
    return acc.value()


def batch_rows(n: int, batch_size: int, seed: int = 0) -> list[np.ndarray]:
    """The image rows of each batch: consecutive slices of :func:`image_order` (each sorted, for reading the
    memory map in order); a last batch of 3 images or fewer is folded into the one before."""
    order = image_order(n, seed)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] <= 3:
        starts.pop()
    ends = starts[1:] + [n]
    return [np.sort(order[s:e]) for s, e in zip(starts, ends, strict=True)]


def val_batches(
    prepared_dir, crop: int, normalize: str, batch_size: int, channels_last: bool = False, device: str = "cpu"
):
    """Centre crops of every prepared validation image (both halves' classes), normalised as in training,
    in batches of ``batch_size`` taken in :func:`image_order` (a last batch of 3 images or fewer is folded
    into the one before), on ``device``: the uint8 crops cross to it and are normalised there."""
    import json
    from pathlib import Path

    import torch

    from transferlab.data.batches import crop_draws, cut_crops, make_transform
    from transferlab.data.datasets import open_images

    meta = json.loads((Path(prepared_dir) / "meta.json").read_text())
    images = open_images(Path(prepared_dir) / "val_images.npy", meta, "val")  # uint8 array or JPEG file
    transform = make_transform(meta, prepared_dir, normalize, device)
    for rows in batch_rows(len(images), batch_size):
        oy, ox, _ = crop_draws(None, len(rows), images.shape[1], crop, False)
        yield transform(torch.from_numpy(cut_crops(images, rows, crop, oy, ox)).to(device), channels_last)


def _passes(batches):
    """One pass over ``batches``: a function returning the batches is called, a list (any re-iterable) iterated
    again; a one-shot iterator, which a second pair would find empty, is refused."""
    if callable(batches):
        return batches()
    if iter(batches) is batches:
        raise ValueError(
            "measure() runs the images once per pair, so it needs batches it can read again: a list "
            "or a function returning the batches (e.g. functools.partial(val_batches, ...)), not a "
            f"one-shot {type(batches).__name__}"
        )
    return batches


def measure(weights: dict, pairs: list, batches, threads: int = 1, device: str = "cpu"):
    """CKA of every pair ``{"a": name, "b": name, "units": [u, ...], ...}`` of the networks in ``weights``
    (name -> weights.pt), over the same ``batches`` of images on ``device``; one row per (pair, unit), in the
    order of ``pairs``.

    At most two networks are in memory at a time, whatever their number: the pairs sharing a network ``a``
    (in the workflow, a base) run one after another with it loaded, each pair's ``b`` loaded for its pair
    only, over all the batches (so ``batches`` is read once per pair: a list, or a function returning them).
    Each pair's accumulator sees the same batches, in the same order, as when every network was loaded at
    once, so the values are the same."""
    import pandas as pd
    import torch

    from transferlab.nets.models import load_model

    torch.set_num_threads(max(1, int(threads)))
    names = {p["a"] for p in pairs} | {p["b"] for p in pairs}
    missing = sorted(n for n in names if n not in weights)
    if missing:
        raise ValueError(f"CKA pairs name networks {missing} that have no weights (given: {sorted(weights)})")
    _passes(batches)  # a one-shot iterator is refused before any network is loaded

    def load(name):
        return load_model(weights[name]).to(device).eval()

    groups = {}
    for i, p in enumerate(pairs):
        groups.setdefault(p["a"], []).append(i)
    values = {}
    with torch.inference_mode():
        for a, members in groups.items():
            model_a = load(a)
            for i in members:
                p = pairs[i]
                model_b = model_a if p["b"] == a else load(p["b"])
                acc = MinibatchCKA(len(p["units"]))
                for x in _passes(batches):
                    x = x.to(device)
                    outs_a, outs_b = model_a.unit_outputs(x), model_b.unit_outputs(x)
                    acc.update([outs_a[u - 1] for u in p["units"]], [outs_b[u - 1] for u in p["units"]])
                    del outs_a, outs_b
                values[i] = acc.value()
                del model_b  # before the next pair's network is loaded
            del model_a
    rows = []
    for i, p in enumerate(pairs):
        extra = {k: v for k, v in p.items() if k != "units"}
        rows += [{**extra, "unit": u, "cka": float(v)} for u, v in zip(p["units"], values[i], strict=True)]
    return pd.DataFrame(rows)


def measure_split(
    *,
    weights: dict,
    pairs: list,
    prepared_dir,
    meta_file,
    batch_size: int,
    units: Sequence[str],
    split: str,
    replicate: int,
    out,
    threads: int = 1,
    device: str = "cpu",
    log=None,
):
    """The workflow's measurement of one training unit (split, replicate): CKA of its ``pairs`` on every
    prepared validation image, cropped and normalised as the networks were trained (their train.json,
    ``meta_file``), on the job's device (a GPU claimed as training claims it); written to ``out`` (parquet)."""
    import functools
    import json
    from pathlib import Path

    from transferlab.report import write_parquet
    from transferlab.training.devices import job_device

    train = json.loads(Path(meta_file).read_text())["train"]
    with job_device(device, log) as dev:
        batches = functools.partial(
            val_batches,
            prepared_dir,
            int(train["crop_size"]),
            train.get("normalize", "channel"),
            int(batch_size),
            device=dev,
        )
        t = measure(weights, pairs, batches, threads=threads, device=dev)
    t.insert(0, "replicate", int(replicate))
    t.insert(0, "split", split)
    t["unit_name"] = [units[u - 1] for u in t["unit"]]
    return write_parquet(t, out)
