"""Weight surgery: copy the first n layers of a base net, re-initialise the rest.

The detail: docs/library.md, `transferlab/nets/transfer.py`."""

from __future__ import annotations

import torch

from transferlab.errors import TransferError
from transferlab.names import RANDOM_SOURCE, NetSpec
from transferlab.nets.models import build_model
from transferlab.nets.units import UnitNet, count_params


def copy_layers(model: UnitNet, base_state: dict, n: int) -> list[str]:
    """Copy units 1..n (weights and batch-norm statistics, if any) from ``base_state`` into ``model``.

    Returns the copied keys.  Every shape is asserted; nothing above layer n is
    touched.
    """
    if not 0 <= n < model.n_units:
        raise TransferError(
            f"n must be in 0..{model.n_units - 1} (the last unit, the classifier, is always new), got {n}"
        )
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
        raise TransferError(
            f"{spec.name} copies {spec.n} units but this network has {model.n_units - 1} transfer points"
        )
    model.reset_layers(range(1, model.n_units + 1), generator=g)
    if spec.source == RANDOM_SOURCE:
        # the paper's random-weights control: layers 1..n keep Caffe's gaussian initialisation
        # (bvlc_reference_caffenet's std; RANDOM_INIT), whatever initialisation the trained layers use
        g_random = torch.Generator().manual_seed(seed + 1)
        model.reset_layers(range(1, spec.n + 1), generator=g_random, init=model.RANDOM_INIT)
    if spec.n and spec.source != RANDOM_SOURCE:
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
