"""CaffeNet (transferlab.nets.caffenet): the paper's geometry and size, Caffe's LRN and dropout, architecture errors."""

import pytest
import torch

from transferlab.errors import ArchError
from transferlab.nets.caffenet import LAYER_NAMES, CaffeLRN, CaffeNet, make_arch
from transferlab.nets.units import count_params

PAPER = {"widths": [96, 256, 384, 384, 256, 4096, 4096], "input_size": 227, "num_classes": 1000}


def test_paper_caffenet_geometry_and_size():
    m = CaffeNet(PAPER)
    assert m.feature_shape == (256, 6, 6)  # pool5 of CaffeNet at 227 px
    # bvlc_reference_caffenet has 60,965,224 parameters (grouped conv2/4/5)
    assert count_params(m) == 60_965_224
    out = m(torch.zeros(2, 3, 227, 227))
    assert out.shape == (2, 1000)
    assert [b.name for b in m.blocks] == list(LAYER_NAMES)


@pytest.mark.parametrize("size, kernel, stride, pad", [(32, 5, 2, 2), (64, 5, 2, 2), (32, 3, 1, 1)])
def test_small_nets(size, kernel, stride, pad):
    arch = {
        "widths": [16, 32, 48, 48, 32, 128, 128],
        "input_size": size,
        "num_classes": 50,
        "conv1_kernel": kernel,
        "conv1_stride": stride,
        "conv1_pad": pad,
        "init": "kaiming",
    }
    m = CaffeNet(arch)
    assert m(torch.zeros(3, 3, size, size)).shape == (3, 50)
    assert m.block(6).layer.in_features == 32 * m.feature_shape[1] * m.feature_shape[2]


def test_architecture_follows_caffenet():
    m = CaffeNet(PAPER)
    kinds = [[type(x).__name__ for x in b.post] for b in m.blocks]
    assert kinds[0] == ["ReLU", "MaxPool2d", "CaffeLRN"]
    assert kinds[1] == ["ReLU", "MaxPool2d", "CaffeLRN"]
    assert kinds[2] == kinds[3] == ["ReLU"]
    assert kinds[4] == ["ReLU", "MaxPool2d"]
    assert kinds[5] == kinds[6] == ["ReLU", "Dropout"]
    assert kinds[7] == []
    assert [m.block(i).layer.groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    # Caffe reference init: gaussian std 0.01 (fc6/fc7 0.005), biases 0 or 1
    assert abs(m.block(6).layer.weight.std().item() - 0.005) < 2e-4
    assert m.block(2).layer.bias.eq(1).all() and m.block(1).layer.bias.eq(0).all()


def test_batchnorm_switch():
    m = CaffeNet(dict(PAPER, batchnorm=True, widths=[8, 8, 8, 8, 8, 16, 16], input_size=64))
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())
    assert not any(
        isinstance(x, torch.nn.BatchNorm2d)
        for x in CaffeNet(dict(PAPER, widths=[8, 8, 8, 8, 8, 16, 16], input_size=64)).modules()
    )


def test_fast_lrn_equals_torch_lrn():
    x = torch.randn(4, 16, 7, 7, requires_grad=True)
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)(x * 30)
    ours = CaffeLRN()(x * 30)
    assert torch.allclose(ref, ours, rtol=1e-5, atol=1e-6)
    g1 = torch.autograd.grad(ref.sum(), x)[0]
    g2 = torch.autograd.grad(ours.sum(), x)[0]
    assert torch.allclose(g1, g2, rtol=1e-4, atol=1e-6)
    assert torch.allclose(torch.nn.LocalResponseNorm(3, 1e-3, 0.5, 2.0)(x), CaffeLRN(3, 1e-3, 0.5, 2.0)(x), atol=1e-6)


def test_bad_architectures_rejected():
    with pytest.raises(ArchError, match="7 widths"):
        make_arch(widths=[1, 2, 3])
    with pytest.raises(ArchError, match="divisible by groups"):
        make_arch(widths=[8, 9, 8, 8, 8, 8, 8])
    with pytest.raises(ArchError, match="unknown architecture keys"):
        make_arch(depth=3)
    with pytest.raises(ArchError, match="too small"):
        CaffeNet(dict(PAPER, input_size=20))


def test_dropout_keeps_scales_and_is_seeded():
    from transferlab.errors import ArchError
    from transferlab.nets.caffenet import Dropout

    d = Dropout(0.5).train()
    x = torch.ones(200, 500)
    torch.random.default_generator.manual_seed(3)
    a = d(x)
    torch.random.default_generator.manual_seed(3)
    assert torch.equal(a, d(x))  # the per-step seed fixes the mask
    kept = a != 0
    assert 0.48 < kept.float().mean().item() < 0.52
    assert torch.all(a[kept] == 2.0)  # inverted dropout: survivors scaled by 1 / (1 - p)
    g = torch.ones(200, 500, requires_grad=True)
    torch.random.default_generator.manual_seed(3)
    d(g).sum().backward()
    assert torch.equal(g.grad, a)  # gradient flows through kept units only, with the same scale
    assert torch.equal(d.eval()(x), x)
    with pytest.raises(ArchError):
        Dropout(1.0)
