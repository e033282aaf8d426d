"""Transfer units (transferlab.nets.units): freezing units 1..n is one rule with one owner: no gradient, no autograd
graph, batch-norm statistics as copied."""

import pytest
import torch

from transferlab.errors import ArchError
from transferlab.nets.caffenet import CaffeNet
from transferlab.nets.units import count_params

PAPER = {"widths": [96, 256, 384, 384, 256, 4096, 4096], "input_size": 227, "num_classes": 1000}


def test_frozen_forward_builds_no_graph_below_n():
    m = CaffeNet(dict(PAPER, widths=[8, 8, 8, 8, 8, 16, 16], input_size=64, init="kaiming"))
    x = torch.randn(2, 3, 64, 64)
    m.freeze(3)
    m(x).sum().backward()
    assert all(p.grad is None for b in m.blocks[:3] for p in b.parameters())
    assert all(p.grad is not None for b in m.blocks[3:] for p in b.parameters())


def test_freeze_owns_gradients_graph_and_batch_norm_statistics():
    """units.UnitNet.freeze(n): units 1..n without gradients, and their batch norm in eval mode whenever the
    net is in train mode, so their running statistics stay as copied; the units above train normally."""
    m = CaffeNet(dict(PAPER, widths=[8, 8, 8, 8, 8, 16, 16], input_size=64, init="kaiming", batchnorm=True))
    m.freeze(2)
    m.train()
    bns = [[mod for mod in b.modules() if isinstance(mod, torch.nn.BatchNorm2d)] for b in m.blocks[:3]]
    assert all(len(b) == 1 for b in bns)
    assert [b[0].training for b in bns] == [False, False, True]
    before = {k: v.clone() for k, v in m.state_dict().items() if k.startswith(("blocks.0.", "blocks.1."))}
    m(torch.randn(4, 3, 64, 64)).sum().backward()
    assert all(torch.equal(m.state_dict()[k], v) for k, v in before.items())  # statistics of units 1-2 as they were
    assert not bns[2][0].running_mean.eq(0).all()  # unit 3's statistics moved
    assert [p.requires_grad for p in m.block(2).parameters()] == [False] * 4
    assert count_params(m, trainable_only=True) == m.trainable_units_params()
    m.eval()
    assert not any(mod.training for mod in m.modules())
    with pytest.raises(ArchError, match="can freeze 0..7 units"):
        m.freeze(8)
