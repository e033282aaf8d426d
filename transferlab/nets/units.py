"""Networks as ordered lists of *transfer units*, and the one rule of freezing them.

The detail: docs/library.md, `transferlab/nets/units.py`."""

from __future__ import annotations

import torch
from torch import nn

from transferlab.errors import ArchError

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def merge_arch(defaults: dict, overrides: dict, what: str = "architecture") -> dict:
    """``defaults`` updated with ``overrides``; an unknown key is an error naming the valid ones."""
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise ArchError(f"unknown {what} keys {sorted(unknown)}; expected a subset of {sorted(defaults)}")
    return {**defaults, **overrides}


class UnitNet(nn.Module):
    """A network as an ordered ``nn.ModuleList`` of transfer units, ``self.blocks``.

    Subclasses build ``self.blocks`` and implement ``reset_layers``; units are 1-based as the paper's
    layers.  ``RANDOM_INIT`` is the initialisation the random-weights control gives its frozen units;
    ``IDENTITY_KEYS`` the arch keys two networks must share for one to copy the other's units.
    """

    RANDOM_INIT = "default"
    IDENTITY_KEYS: tuple[str, ...] = ()
    blocks: nn.ModuleList
    frozen_units = 0  # units 1..frozen_units are frozen (see freeze)

    @property
    def n_units(self) -> int:
        return len(self.blocks)

    def block(self, n: int) -> nn.Module:
        """Transfer unit n, 1-based as in the paper."""
        return self.blocks[n - 1]

    def layer_keys(self, n: int) -> list[str]:
        """state_dict keys belonging to unit n (1-based): weights, biases, batch-norm statistics."""
        prefix = f"blocks.{n - 1}."
        return [k for k in self.state_dict() if k.startswith(prefix)]

    # ------------------------------------------------------------------------------------- freezing
    def freeze(self, n: int) -> None:
        """Freeze units 1..n: no gradient, no autograd graph, batch-norm statistics as they are."""
        if not 0 <= n < self.n_units:
            raise ArchError(f"can freeze 0..{self.n_units - 1} units (the classifier always trains), got {n}")
        for unit in range(1, n + 1):
            for p in self.block(unit).parameters():
                p.requires_grad_(False)
        self.frozen_units = n
        self.train(self.training)

    def train(self, mode: bool = True):
        """``nn.Module.train``, except that a frozen unit's batch norm stays in eval mode."""
        super().train(mode)
        if mode:
            for b in self.blocks[: self.frozen_units]:
                for m in b.modules():
                    if isinstance(m, BATCH_NORMS):
                        m.eval()
        return self

    def forward(self, x):
        """Forward pass; the frozen units run without autograd."""
        if self.frozen_units:
            with torch.no_grad():
                for b in self.blocks[: self.frozen_units]:
                    x = b(x)
            x = x.detach()
        for b in self.blocks[self.frozen_units :]:
            x = b(x)
        return x

    def trainable_units_params(self) -> int:
        """Parameters of the units above the frozen ones: what the optimizer must train."""
        return sum(p.numel() for b in self.blocks[self.frozen_units :] for p in b.parameters())

    def unit_outputs(self, x) -> list[torch.Tensor]:
        """The output of every unit, in order (what CKA compares)."""
        outs = []
        for b in self.blocks:
            x = b(x)
            outs.append(x)
        return outs


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
