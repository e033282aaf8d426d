"""The registry of network families: build, load and describe any model from its arch dict.

An arch dict names its family (``"family"``); a dict without one is a CaffeNet, as CaffeNet checkpoints store it:

The detail: docs/library.md, `transferlab/nets/models.py`."""

from __future__ import annotations

import importlib

from transferlab import io as tio
from transferlab.errors import ArchError
from transferlab.nets.caffenet import CONFIG_KEYS as CAFFENET_CONFIG_KEYS
from transferlab.nets.units import UnitNet

# family -> (module, class); a family's module is imported when first used: torchvision, which the residual
# family needs, takes a second to import, and every CaffeNet job would pay it
FAMILIES = {"caffenet": ("caffenet", "CaffeNet"), "resnet": ("resnet", "ResNet")}


def family_of(arch: dict) -> str:
    """The architecture family of an arch dict (CaffeNet where the dict names none)."""
    family = arch.get("family", "caffenet")
    if family not in FAMILIES:
        raise ArchError(f"architecture family {family!r} is unknown; expected one of {list(FAMILIES)}")
    return family


def family_class(arch: dict) -> type[UnitNet]:
    module, name = FAMILIES[family_of(arch)]
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def build_model(arch: dict) -> UnitNet:
    """A fresh network of ``arch``'s family (CaffeNet when the dict names none)."""
    if family_of(arch) == "caffenet":  # CaffeNet's arch dict has no family key (its hashes predate families)
        arch = {k: v for k, v in arch.items() if k != "family"}
    return family_class(arch)(arch)


def load_model(weights) -> UnitNet:
    """The network saved in a weights file (its arch dict and state dict)."""
    checkpoint = tio.load_torch(weights)
    model = build_model(checkpoint["arch"])
    model.load_state_dict(checkpoint["state_dict"])
    return model


def arch_from_config(model_cfg: dict) -> dict:
    """The arch dict a training job gets from the config's ``model`` section (input size and classes are
    added by the trainer).  CaffeNet's dict names no family, so its config hash, which decides whether a
    finished network is trained again, does not depend on the registry."""
    kind = model_cfg.get("architecture", "caffenet")
    if kind == "caffenet":
        return {k: model_cfg[k] for k in CAFFENET_CONFIG_KEYS}
    if kind == "resnet18":
        return {"family": "resnet", "variant": "resnet18"}
    if kind == "resnet":
        r = model_cfg["resnet"]  # the schema fills its defaults
        return {
            "family": "resnet",
            "variant": "cifar",
            "widths": list(r["widths"]),
            "blocks": list(r["blocks"]),
            "stem_stride": int(r["stem_stride"]),
        }
    raise ArchError(f"model.architecture {kind!r} is unknown; expected caffenet, resnet or resnet18")


def unit_names(arch: dict) -> list[str]:
    """Names of the transfer units of ``arch``, in order (without building the network)."""
    return family_class(arch).unit_names(arch)


def transfer_points(arch: dict) -> int:
    """How many units can be copied: every unit but the last (the classifier is always new)."""
    return len(unit_names(arch)) - 1


def identity_keys(arch: dict) -> list[str]:
    """Arch keys two networks must share for one to copy the other's units."""
    return list(family_class(arch).IDENTITY_KEYS)


def forward_flops(arch: dict) -> float:
    """FLOPs of one image's forward pass through the convolution and linear layers of ``arch`` (multiply-adds
    x 2; a training step is about 3 x this): what the benchmarks compare with a device's peak."""
    import torch

    model = build_model(arch).eval()
    total = [0]

    def count(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            total[0] += 2 * mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups * out.numel()
        else:
            total[0] += 2 * mod.in_features * out.numel()

    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    hooks = [m.register_forward_hook(count) for m in layers]
    with torch.no_grad():
        model(torch.zeros(1, 3, arch["input_size"], arch["input_size"]))
    for h in hooks:
        h.remove()
    return float(total[0])
