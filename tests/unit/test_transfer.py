"""Derived networks (transferlab.nets.transfer): layers 1..n copied from their base, frozen bit for bit or
fine-tuned, the layers above freshly initialised, and bases that do not fit refused."""

import pytest
import torch
from conftest import SMALL_ARCH, train_small

from transferlab import io as tio
from transferlab.errors import ConfigError, TransferError
from transferlab.names import parse_net
from transferlab.nets.caffenet import CaffeNet
from transferlab.nets.transfer import build_derived, copy_layers


def _train(root, net, half, base=None, arch=(), train=(), seed=1):
    return train_small(root, net, half, base, arch=dict(SMALL_ARCH, **dict(arch)), seed=seed, **dict(train)).state


def _layer(state, n):
    """Layer n's weight and bias, named explicitly: a renamed state dict fails here instead of selecting nothing."""
    keys = [f"blocks.{n - 1}.layer.weight", f"blocks.{n - 1}.layer.bias"]
    missing = [k for k in keys if k not in state]
    assert not missing, f"state dict lacks {missing}; it has {sorted(state)[:6]}..."
    return {k: state[k] for k in keys}


@pytest.fixture
def bases(prepared):
    _train(prepared, "baseA", "A")
    _train(prepared, "baseB", "B")
    return prepared


@pytest.mark.parametrize("n", [1, 3, 7])
def test_frozen_transfer_keeps_copied_layers_bitwise(bases, n):
    base = tio.load_torch(bases / "baseA" / "weights.pt")["state_dict"]
    net = f"A{n}B-frozen"
    after = _train(bases, net, "B", base=bases / "baseA" / "weights.pt")
    for layer in range(1, n + 1):
        for k, v in _layer(base, layer).items():
            assert torch.equal(after[k], v), f"{net}: frozen {k} changed"
    for layer in range(n + 1, 9):  # layers above n were re-initialised and trained
        k = f"blocks.{layer - 1}.layer.weight"
        assert after[k].shape == base[k].shape  # same architecture: the comparison below is a real one
        assert not torch.equal(after[k], base[k]), f"{net}: {k} equals the base's"


def test_fine_tuned_copied_layers_change(bases):
    base = tio.load_torch(bases / "baseB" / "weights.pt")["state_dict"]
    after = _train(bases, "B3B-ft", "B", base=bases / "baseB" / "weights.pt")
    for layer in (1, 2, 3):
        k = f"blocks.{layer - 1}.layer.weight"
        assert not torch.equal(after[k], base[k])


def test_upper_layers_reinitialised_before_training(bases):
    ck = tio.load_torch(bases / "baseA" / "weights.pt")
    net = build_derived(ck["arch"], parse_net("A4B-frozen"), ck["state_dict"], seed=5)
    sd = net.state_dict()
    for layer in range(1, 5):
        for k, v in _layer(ck["state_dict"], layer).items():
            assert torch.equal(sd[k], v)
    for layer in range(5, 8):
        k = f"blocks.{layer - 1}.layer.weight"
        assert not torch.equal(sd[k], ck["state_dict"][k])
    assert [p.requires_grad for p in net.block(4).parameters()] == [False, False]
    assert all(p.requires_grad for p in net.block(5).parameters())


def test_random_frozen_layers_stay_at_their_init(prepared):
    spec = parse_net("R3A-frozen")
    init = build_derived(dict(SMALL_ARCH, num_classes=3, input_size=16), spec, None, seed=9).state_dict()
    after = _train(prepared, "R3A-frozen", "A", seed=9)
    for layer in (1, 2, 3):
        for k, v in _layer(init, layer).items():
            assert torch.equal(after[k], v)
    assert not torch.equal(after["blocks.3.layer.weight"], init["blocks.3.layer.weight"])


def test_base_from_other_architecture_is_rejected(bases):
    with pytest.raises(ConfigError, match="another architecture"):
        _train(
            bases, "A2B-frozen", "B", base=bases / "baseA" / "weights.pt", arch={"widths": [16, 16, 16, 16, 16, 16, 16]}
        )
    assert not (bases / "A2B-frozen" / "weights.pt").exists()


def test_copy_layers_checks_shapes():
    a = CaffeNet(dict(SMALL_ARCH, num_classes=3, input_size=16))
    b = CaffeNet(dict(SMALL_ARCH, widths=[16, 16, 16, 16, 16, 16, 16], num_classes=3, input_size=16))
    with pytest.raises(TransferError, match="shape"):
        copy_layers(a, b.state_dict(), 2)
    with pytest.raises(TransferError, match="the classifier, is always new"):
        copy_layers(a, a.state_dict(), 8)


@pytest.mark.parametrize("net", ["baseA", "A3B-frozen", "R3A-frozen"])
def test_every_fresh_layer_has_the_configured_initialisation(net):
    """Layers a net does not copy start at the arch's init (kaiming: std sqrt(2 / fan_in), fc8 0.01, zero bias);
    the random-weights control's frozen layers at Caffe's gaussians. A layer left at torch's default init fails."""
    from transferlab.nets.caffenet import CAFFE_INIT

    arch = dict(SMALL_ARCH, widths=[64, 64, 64, 64, 64, 256, 256], num_classes=50, input_size=16)
    spec = parse_net(net)
    base = CaffeNet(arch).state_dict() if spec.n and spec.source != "R" else None
    m = build_derived(arch, spec, base, seed=3)
    for layer in range(1, 9):
        lin = m.block(layer).layer
        if spec.source not in ("R", None) and layer <= spec.n:
            continue  # copied
        if spec.source == "R" and layer <= spec.n:
            std, bias = CAFFE_INIT[m.block(layer).name]
        else:
            std, bias = (0.01 if layer == 8 else (2.0 / lin.weight[0].numel()) ** 0.5), 0.0
        assert lin.weight.std().item() == pytest.approx(std, rel=0.15), (net, layer)
        assert torch.all(lin.bias == bias), (net, layer)


def test_a_base_with_tensors_the_network_lacks_is_refused():
    """Derived-network construction checks that what it copied is exactly the base's units 1..n."""
    arch = dict(SMALL_ARCH, input_size=64, num_classes=3)
    base = CaffeNet(dict(arch, batchnorm=True)).state_dict()
    with pytest.raises(TransferError, match=r"A2B-frozen: the base's units 1..2 hold \['blocks.0.post.0"):
        build_derived(arch, parse_net("A2B-frozen"), base, seed=0)
