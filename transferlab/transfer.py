"""Weight surgery: copy the first n layers of a base net, re-initialise the rest.

Naming follows the paper: ``AnB`` copies layers 1..n of baseA into a net trained
on task B; ``BnB`` (the selffer) copies from baseB itself.  A trailing ``+``
(here ``-ft``) means every layer is fine-tuned; ``-frozen`` means the copied
layers are frozen.  ``R`` as source (``R3B``) keeps the first n layers at Caffe's gaussian
initialisation and freezes them (the paper's random-weights control; a residual net keeps
torchvision's initialisation there).  "Layers" are the model's transfer units
(:mod:`transferlab.units`): CaffeNet's weight layers, or a ResNet's stem, blocks and head.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from .models import build_model
from .units import UnitNet, count_params

# The one definition of a network's name: "base<H>" or "<S><n><T>-frozen|ft" (S: a half or R, random).
HALF_PATTERN, N_PATTERN, MODE_PATTERN = r"[A-Z]", r"[1-9][0-9]?", r"frozen|ft"
NET_RE = re.compile(rf"^(?:base(?P<base>{HALF_PATTERN})|(?P<src>{HALF_PATTERN})(?P<n>{N_PATTERN})(?P<tgt>{HALF_PATTERN})"
                    rf"-(?P<mode>{MODE_PATTERN}))$")
# the same without anchors and group names: the workflow's `net` wildcard constraint
NET_PATTERN = re.sub(r"\(\?P<\w+>", "(?:", NET_RE.pattern)[1:-1]


class TransferError(ValueError):
    pass


@dataclass(frozen=True)
class NetSpec:
    """A network of the design, parsed from its name (e.g. ``A3B-frozen``)."""

    name: str
    target: str  # half trained on
    source: str | None  # half the copied layers come from ('R' = random), None for base
    n: int  # number of copied layers, 0 for base
    fine_tuned: bool

    @property
    def is_base(self) -> bool:
        return self.n == 0

    @property
    def treatment(self) -> str:
        if self.is_base:
            return "base"
        if self.source == "R":
            kind = "random"
        elif self.source == self.target:
            kind = "selffer"
        else:
            kind = "transfer"
        return kind + ("_ft" if self.fine_tuned else "")

    @property
    def frozen_layers(self) -> int:
        return 0 if self.fine_tuned else self.n


def parse_net(name: str) -> NetSpec:
    m = NET_RE.match(name)
    if not m:
        raise TransferError(
            f"network name {name!r} is not of the form 'base<H>' or '<S><n><T>-frozen|ft' (e.g. 'A3B-frozen')"
        )
    if m.group("base"):
        return NetSpec(name, m.group("base"), None, 0, True)
    return NetSpec(name, m.group("tgt"), m.group("src"), int(m.group("n")), m.group("mode") == "ft")


def net_name(source: str, n: int, target: str, fine_tuned: bool) -> str:
    return f"{source}{n}{target}-{'ft' if fine_tuned else 'frozen'}"


def copy_layers(model: UnitNet, base_state: dict, n: int) -> list[str]:
    """Copy units 1..n (weights and batch-norm statistics, if any) from ``base_state`` into ``model``.

    Returns the copied keys.  Every shape is asserted; nothing above layer n is
    touched.
    """
    if not 0 <= n < model.n_units:
        raise TransferError(f"n must be in 0..{model.n_units - 1} (the last unit, the classifier, is always new), got {n}")
    own = model.state_dict()
    copied = []
    for layer in range(1, n + 1):
        for key in model.layer_keys(layer):
            if key not in base_state:
                raise TransferError(f"base checkpoint lacks {key!r}: it comes from another architecture")
            src = base_state[key]
            if tuple(src.shape) != tuple(own[key].shape):
                raise TransferError(
                    f"base checkpoint tensor {key!r} has shape {tuple(src.shape)}, this network expects "
                    f"{tuple(own[key].shape)}: the base was trained with another architecture"
                )
            own[key].copy_(src)
            copied.append(key)
    return copied


def build_derived(arch: dict, spec: NetSpec, base_state: dict | None, seed: int) -> UnitNet:
    """A fresh net for ``spec``: layers 1..n copied (or random), the rest freshly initialised."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = build_model(arch)
    if spec.n >= model.n_units:
        raise TransferError(f"{spec.name} copies {spec.n} units but this network has {model.n_units - 1} transfer points")
    model.reset_layers(range(1, model.n_units + 1), generator=g)
    if spec.source == "R":
        # the paper's random-weights control: layers 1..n keep Caffe's gaussian initialisation
        # (bvlc_reference_caffenet's std; RANDOM_INIT), whatever initialisation the trained layers use
        g_random = torch.Generator().manual_seed(seed + 1)
        model.reset_layers(range(1, spec.n + 1), generator=g_random, init=model.RANDOM_INIT)
    if spec.n and spec.source != "R":
        if base_state is None:
            raise TransferError(f"{spec.name} needs a base checkpoint")
        copied = copy_layers(model, base_state, spec.n)
        # as a linear probe checks what it loaded: exactly the base's tensors of units 1..n, read off the base
        expected = [k for k in base_state if k.startswith("blocks.") and int(k.split(".")[1]) < spec.n]
        if sorted(copied) != sorted(expected):
            raise TransferError(
                f"{spec.name}: the base's units 1..{spec.n} hold {sorted(set(expected) - set(copied))[:5]}, which this "
                "network lacks: the base was trained with another architecture"
            )
    model.freeze(spec.frozen_layers)
    trainable = count_params(model, trainable_only=True)
    assert trainable == model.trainable_units_params(), (spec.name, trainable, model.trainable_units_params())
    return model
