"""Residual networks as transfer units: stem, each basic block, head.

The detail: docs/library.md, `transferlab/nets/resnet.py`."""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.models import resnet as tvr

from transferlab.errors import ArchError
from transferlab.nets.units import UnitNet, merge_arch

VARIANTS = ("cifar", "resnet18")
DEFAULT_RESNET = {
    "family": "resnet",
    "variant": "cifar",
    "widths": [16, 32, 64],
    "blocks": [1, 1, 1],
    "stem_stride": 1,
    "input_size": 32,
    "num_classes": 1000,
}
# what a derived net must share with the base it copies from
IDENTITY_KEYS = ("family", "variant", "widths", "blocks", "stem_stride", "input_size")
MIN_WIDTH = 8
RESNET18 = {"widths": [64, 128, 256, 512], "blocks": [2, 2, 2, 2], "stem_stride": 2}


def make_resnet_arch(**overrides) -> dict:
    arch = merge_arch(DEFAULT_RESNET, overrides, "resnet architecture")
    if arch["variant"] not in VARIANTS:
        raise ArchError(f"resnet variant {arch['variant']!r} is unknown; expected one of {list(VARIANTS)}")
    if arch["variant"] == "resnet18":
        arch.update(RESNET18)  # torchvision's resnet18: fixed widths and depth
    arch["widths"] = [int(w) for w in arch["widths"]]
    arch["blocks"] = [int(b) for b in arch["blocks"]]
    if not arch["widths"] or len(arch["widths"]) != len(arch["blocks"]):
        raise ArchError(
            f"resnet 'widths' {arch['widths']} and 'blocks' {arch['blocks']} must be non-empty lists of the same "
            "length (one entry per stage)"
        )
    if min(arch["blocks"]) < 1:
        raise ArchError(f"resnet blocks must be >= 1 per stage, got {arch['blocks']}")
    if min(arch["widths"]) < MIN_WIDTH:
        raise ArchError(
            f"resnet widths must be >= {MIN_WIDTH} channels, got {arch['widths']}: below that, the backward pass of "
            "torch's channels-last 1x1 stride-2 convolution on the CPU corrupts memory (torch 2.14, measured)"
        )
    return arch


def resnet_unit_names(arch: dict) -> list[str]:
    """stem, layer<s>.<b> for every basic block (torchvision's names), head."""
    a = make_resnet_arch(**{k: v for k, v in arch.items() if k in DEFAULT_RESNET})
    return ["stem"] + [f"layer{s + 1}.{b}" for s, n in enumerate(a["blocks"]) for b in range(n)] + ["head"]


class Head(nn.Sequential):
    """Global average pool, flatten, linear classifier (torchvision's avgpool + fc)."""

    def __init__(self, width: int, num_classes: int):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(width, num_classes))


def _stages(widths, blocks, inplanes):
    """torchvision BasicBlocks of every stage, flattened; stride 2 and a 1x1 projection between stages."""
    units = []
    for s, (w, n) in enumerate(zip(widths, blocks, strict=True)):
        for b in range(n):
            stride = 2 if s > 0 and b == 0 else 1
            down = None
            if stride != 1 or inplanes != w:
                down = nn.Sequential(tvr.conv1x1(inplanes, w, stride), nn.BatchNorm2d(w))
            units.append(tvr.BasicBlock(inplanes, w, stride, down))
            inplanes = w
    return units


class ResNet(UnitNet):
    RANDOM_INIT = "default"  # the random-weights control keeps torchvision's initialisation
    IDENTITY_KEYS = IDENTITY_KEYS
    unit_names = staticmethod(resnet_unit_names)

    def __init__(self, arch: dict):
        super().__init__()
        self.arch = a = make_resnet_arch(**arch)
        if a["variant"] == "resnet18":
            tv = tvr.resnet18(num_classes=a["num_classes"])
            units = [nn.Sequential(tv.conv1, tv.bn1, tv.relu, tv.maxpool)]
            for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
                units += list(layer)
        else:
            w0 = a["widths"][0]
            stem = nn.Sequential(tvr.conv3x3(3, w0, a["stem_stride"]), nn.BatchNorm2d(w0), nn.ReLU(inplace=True))
            units = [stem] + _stages(a["widths"], a["blocks"], w0)
        units.append(Head(a["widths"][-1], a["num_classes"]))
        self.blocks = nn.ModuleList(units)
        self.names = resnet_unit_names(a)
        with torch.no_grad():
            x = torch.zeros(2, 3, a["input_size"], a["input_size"])
            try:
                self.eval()
                for b in self.blocks[:-1]:
                    x = b(x)
            except RuntimeError as e:
                raise ArchError(f"input_size {a['input_size']} is too small for this resnet ({e})") from e
            self.train()
        self.feature_shape = tuple(x.shape[1:])
        self.reset_layers(range(1, len(self.blocks) + 1))

    @torch.no_grad()
    def reset_layers(self, layers, generator: torch.Generator | None = None, init: str | None = None):
        """torchvision's initialisation of the given 1-based units (``init`` is accepted for the
        CaffeNet interface; a residual net has one initialisation)."""
        for n in layers:
            for m in self.block(n).modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                elif isinstance(m, nn.BatchNorm2d):
                    m.reset_parameters()
                    m.reset_running_stats()
                elif isinstance(m, nn.Linear):  # nn.Linear's own default, from the generator
                    nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                    bound = 1.0 / math.sqrt(m.in_features)
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
