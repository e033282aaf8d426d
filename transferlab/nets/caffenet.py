"""CaffeNet as transfer units, with configurable widths and input size: eight *weight layers* (conv1-conv5,
fc6-fc8), each in a block with the parameter-free operations that follow it in Caffe's
``bvlc_reference_caffenet`` (ReLU, max-pool, LRN, dropout): 8 units, 7 transfer points, as in the paper.

The detail: docs/library.md, `transferlab/nets/caffenet.py`."""

from __future__ import annotations

import math

import torch
from torch import nn

from transferlab.errors import ArchError
from transferlab.nets.units import UnitNet, merge_arch

LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
N_WEIGHT_LAYERS = len(LAYER_NAMES)
# the config's `model` keys that make CaffeNet's arch dict (unchanged since before families existed, so are its hashes)
CONFIG_KEYS = ("widths", "conv1_kernel", "conv1_stride", "conv1_pad", "groups", "lrn", "batchnorm", "dropout", "init")

# Caffe bvlc_reference_caffenet initialisation: gaussian weight std, constant bias.
CAFFE_INIT = {
    "conv1": (0.01, 0.0),
    "conv2": (0.01, 1.0),
    "conv3": (0.01, 0.0),
    "conv4": (0.01, 1.0),
    "conv5": (0.01, 1.0),
    "fc6": (0.005, 1.0),
    "fc7": (0.005, 1.0),
    "fc8": (0.01, 0.0),
}

DEFAULT_ARCH = {
    "widths": [96, 256, 384, 384, 256, 4096, 4096],
    "input_size": 227,
    "num_classes": 1000,
    "conv1_kernel": 11,
    "conv1_stride": 4,
    "conv1_pad": 0,
    "groups": 2,
    "lrn": True,
    "batchnorm": False,
    "dropout": 0.5,
    "init": "caffe",
}


def make_arch(**overrides) -> dict:
    arch = merge_arch(DEFAULT_ARCH, overrides)
    arch["widths"] = [int(w) for w in arch["widths"]]
    if len(arch["widths"]) != 7:
        raise ArchError(f"architecture 'widths' must list 7 widths (conv1-5, fc6, fc7), got {arch['widths']}")
    g = int(arch["groups"])
    for name, w in zip(("conv1", "conv2", "conv3", "conv4", "conv5"), arch["widths"][:5], strict=True):
        if name in ("conv2", "conv4", "conv5") and w % g:
            raise ArchError(f"width of {name} ({w}) must be divisible by groups={g}")
    if arch["init"] not in ("caffe", "kaiming"):
        raise ArchError(f"architecture 'init' must be 'caffe' or 'kaiming', got {arch['init']!r}")
    return arch


class CaffeLRN(nn.Module):
    """Cross-channel local response normalisation as in Caffe (alpha/size scaling).

    Same values as ``nn.LocalResponseNorm`` but computes the channel-window sum
    as shifted adds on the channels-last view, and ``d**-0.75`` as
    ``rsqrt(d) * sqrt(rsqrt(d))``: about 3x faster on CPU, forward and backward.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        c = x.shape[1]
        half = self.size // 2
        sq = (x * x).permute(0, 2, 3, 1)
        padded = nn.functional.pad(sq, (half, self.size - 1 - half))
        s = padded[..., 0:c]
        for i in range(1, self.size):
            s = s + padded[..., i : i + c]
        d = (s * (self.alpha / self.size) + self.k).permute(0, 3, 1, 2)
        if self.beta == 0.75:
            r = torch.rsqrt(d)
            return x * r * torch.sqrt(r)
        return x * d.pow(-self.beta)

    def extra_repr(self):
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Dropout(nn.Module):
    """Inverted dropout (keep with probability 1 - p, scale by 1 / (1 - p)), as ``nn.Dropout``.

    The mask comes from ``torch.rand_like``, which on CPU is about 3x faster than the
    Bernoulli sampling inside ``F.dropout`` (0.14 against 0.40 ms for 64 x 512 here).
    Masks are drawn from the default generator, so a per-step seed fixes them.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ArchError(f"dropout must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self):
        return f"p={self.p}"


class Block(nn.Module):
    """One weight layer plus the parameter-free ops after it."""

    def __init__(self, name: str, layer: nn.Module, post: list[nn.Module], flatten: bool = False):
        super().__init__()
        self.name = name
        self.flatten = flatten
        self.layer = layer
        self.post = nn.Sequential(*post)

    def forward(self, x):
        if self.flatten:
            x = torch.flatten(x, 1)
        return self.post(self.layer(x))


class CaffeNet(UnitNet):
    RANDOM_INIT = "caffe"  # the paper's random-weights control: bvlc_reference_caffenet's gaussians
    IDENTITY_KEYS = ("widths", "conv1_kernel", "conv1_stride", "conv1_pad", "groups", "batchnorm", "input_size")

    @staticmethod
    def unit_names(arch: dict) -> list[str]:
        return list(LAYER_NAMES)

    def __init__(self, arch: dict):
        super().__init__()
        self.arch = make_arch(**arch)
        a = self.arch
        w = a["widths"]
        g = int(a["groups"])
        bn = bool(a["batchnorm"])

        def conv(cin, cout, k, s, p, groups=1):
            return nn.Conv2d(cin, cout, k, stride=s, padding=p, groups=groups)

        def post_conv(c, pool, lrn):
            ops: list[nn.Module] = []
            if bn:
                ops.append(nn.BatchNorm2d(c))
            ops.append(nn.ReLU(inplace=True))
            if pool:
                ops.append(nn.MaxPool2d(3, 2, ceil_mode=True))
            if lrn and a["lrn"]:
                ops.append(CaffeLRN(5, alpha=1e-4, beta=0.75, k=1.0))
            return ops

        blocks = [
            Block(
                "conv1",
                conv(3, w[0], a["conv1_kernel"], a["conv1_stride"], a["conv1_pad"]),
                post_conv(w[0], True, True),
            ),
            Block("conv2", conv(w[0], w[1], 5, 1, 2, g), post_conv(w[1], True, True)),
            Block("conv3", conv(w[1], w[2], 3, 1, 1), post_conv(w[2], False, False)),
            Block("conv4", conv(w[2], w[3], 3, 1, 1, g), post_conv(w[3], False, False)),
            Block("conv5", conv(w[3], w[4], 3, 1, 1, g), post_conv(w[4], True, False)),
        ]
        with torch.no_grad():
            x = torch.zeros(1, 3, a["input_size"], a["input_size"])
            try:
                for b in blocks:
                    b.eval()
                    x = b(x)
            except RuntimeError as e:
                raise ArchError(f"input_size {a['input_size']} is too small for this conv1 geometry ({e})") from e
        self.feature_shape = tuple(x.shape[1:])
        if min(self.feature_shape[1:]) < 1:
            raise ArchError(f"input_size {a['input_size']} is too small for this geometry")
        flat = int(math.prod(self.feature_shape))

        def post_fc(c):
            ops: list[nn.Module] = []
            if bn:
                ops.append(nn.BatchNorm1d(c))
            ops.append(nn.ReLU(inplace=True))
            if a["dropout"] > 0:
                ops.append(Dropout(a["dropout"]))
            return ops

        blocks += [
            Block("fc6", nn.Linear(flat, w[5]), post_fc(w[5]), flatten=True),
            Block("fc7", nn.Linear(w[5], w[6]), post_fc(w[6])),
            Block("fc8", nn.Linear(w[6], a["num_classes"]), []),
        ]
        self.blocks = nn.ModuleList(blocks)
        self.reset_layers(range(1, N_WEIGHT_LAYERS + 1))

    @torch.no_grad()
    def reset_layers(self, layers, generator: torch.Generator | None = None, init: str | None = None):
        """Fresh initialisation of the given 1-based weight layers (``init`` overrides the arch's)."""
        init = init or self.arch["init"]
        for n in layers:
            b = self.block(n)
            lin = b.layer
            if init == "caffe":
                std, bias = CAFFE_INIT[b.name]
            else:  # kaiming-style std for deeper-than-caffe small nets
                fan_in = lin.weight[0].numel()
                std, bias = math.sqrt(2.0 / fan_in), 0.0
                if b.name == "fc8":
                    std = 0.01
            lin.weight.normal_(0.0, std, generator=generator)
            lin.bias.fill_(bias)
            for m in b.post:
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    m.reset_parameters()
                    m.reset_running_stats()
