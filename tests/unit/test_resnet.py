"""Residual nets as transfer units: built from torchvision, copied and frozen unit by unit, batch norm included."""

import pytest
import torch
from conftest import train_small
from torchvision.models import resnet as tvr

from transferlab import io as tio
from transferlab.errors import ArchError, ConfigError, TransferError
from transferlab.names import parse_net
from transferlab.nets.models import arch_from_config, build_model, transfer_points, unit_names
from transferlab.nets.resnet import ResNet
from transferlab.nets.transfer import build_derived

NARROW = {"family": "resnet", "variant": "cifar", "widths": [8, 16], "blocks": [1, 2], "stem_stride": 1}


def _train(root, net, half, base=None, arch=NARROW, seed=1):
    return train_small(root, net, half, base, arch=arch, seed=seed).state


def _unit(state, n):
    keys = {k: v for k, v in state.items() if k.startswith(f"blocks.{n - 1}.")}
    assert keys, f"no keys of unit {n}"
    return keys


@pytest.fixture
def bases(prepared):
    _train(prepared, "baseA", "A")
    _train(prepared, "baseB", "B")
    return prepared


def test_units_are_stem_blocks_head_and_set_the_transfer_points():
    assert unit_names(NARROW) == ["stem", "layer1.0", "layer2.0", "layer2.1", "head"]
    assert transfer_points(NARROW) == 4
    r18 = {"family": "resnet", "variant": "resnet18"}
    assert unit_names(r18) == ["stem"] + [f"layer{s}.{b}" for s in (1, 2, 3, 4) for b in (0, 1)] + ["head"]
    assert transfer_points(r18) == 9
    assert transfer_points({"widths": [8] * 7}) == 7  # a CaffeNet arch (no family: checkpoints from before)
    m = build_model(dict(NARROW, num_classes=3, input_size=16))
    assert isinstance(m, ResNet) and m.n_units == 5
    assert all(isinstance(m.block(u), tvr.BasicBlock) for u in (2, 3, 4))  # torchvision's own block
    assert m.block(3).downsample is not None and m.block(4).downsample is None  # stride 2 + projection
    assert [o.shape[1:] for o in m.unit_outputs(torch.zeros(2, 3, 16, 16))] == [
        (8, 16, 16),
        (8, 16, 16),
        (16, 8, 8),
        (16, 8, 8),
        (3,),
    ]


def test_resnet18_is_torchvisions_resnet18_cut_into_units():
    """Every tensor of torchvision's resnet18 has its place in our units, in order and shape: its own
    weights load into ours and give the same outputs."""
    tv = tvr.resnet18(num_classes=7).eval()
    ours = build_model({"family": "resnet", "variant": "resnet18", "num_classes": 7, "input_size": 64}).eval()
    theirs, mine = list(tv.state_dict().values()), list(ours.state_dict().values())
    assert [tuple(t.shape) for t in theirs] == [tuple(t.shape) for t in mine]
    ours.load_state_dict(dict(zip(ours.state_dict(), theirs, strict=True)))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), tv(x), atol=1e-5)


def test_config_sections_map_to_architectures():
    section = {"widths": [8, 16], "blocks": [1, 2], "stem_stride": 1}  # as the schema fills it
    assert arch_from_config({"architecture": "resnet", "resnet": section}) == NARROW
    assert arch_from_config({"architecture": "resnet18"}) == {"family": "resnet", "variant": "resnet18"}
    cfg = {
        "architecture": "caffenet",
        "widths": [1] * 7,
        "conv1_kernel": 3,
        "conv1_stride": 1,
        "conv1_pad": 1,
        "groups": 1,
        "lrn": True,
        "batchnorm": False,
        "dropout": 0.5,
        "init": "kaiming",
    }
    assert "family" not in arch_from_config(cfg)  # CaffeNet's arch and hashes are as before families existed


def test_bad_resnet_shapes_are_named():
    with pytest.raises(ArchError, match=r"widths must be >= 8 channels, got \[4, 8\]"):
        build_model(dict(NARROW, widths=[4, 8], num_classes=3, input_size=16))
    with pytest.raises(ArchError, match="same length"):
        build_model(dict(NARROW, blocks=[1], num_classes=3, input_size=16))
    with pytest.raises(ArchError, match="variant 'resnet50' is unknown"):
        build_model(dict(NARROW, variant="resnet50", num_classes=3, input_size=16))
    with pytest.raises(ArchError, match="family 'vgg' is unknown"):
        build_model({"family": "vgg"})
    with pytest.raises(TransferError, match="copies 5 units but this network has 4 transfer points"):
        build_derived(dict(NARROW, num_classes=3, input_size=16), parse_net("A5B-frozen"), None, seed=0)


def test_derived_resnet_copies_units_and_draws_fresh_ones_from_the_seed():
    arch = dict(NARROW, num_classes=3, input_size=16)
    base = build_model(arch).state_dict()
    a = build_derived(arch, parse_net("A2B-frozen"), base, seed=3).state_dict()
    b = build_derived(arch, parse_net("A2B-frozen"), base, seed=3).state_dict()
    c = build_derived(arch, parse_net("A2B-frozen"), base, seed=4).state_dict()
    for u in (1, 2):
        assert all(torch.equal(a[k], base[k]) for k in _unit(base, u))
    for k in _unit(base, 3):
        if k.endswith("conv1.weight"):
            assert torch.equal(a[k], b[k]) and not torch.equal(a[k], c[k]) and not torch.equal(a[k], base[k])
    m = build_derived(arch, parse_net("A2B-frozen"), base, seed=3)
    assert not any(p.requires_grad for u in (1, 2) for p in m.block(u).parameters())
    assert all(p.requires_grad for u in (3, 4, 5) for p in m.block(u).parameters())


@pytest.mark.parametrize("n", [1, 3])
def test_frozen_units_keep_weights_and_batch_norm_statistics_bitwise(bases, n):
    """Trained for two epochs in train mode, a frozen unit is its base's bit for bit: weights and the
    batch-norm running means, variances and batch counts (eval mode); the units above moved."""
    base = tio.load_torch(bases / "baseA" / "weights.pt")["state_dict"]
    after = _train(bases, f"A{n}B-frozen", "B", base=bases / "baseA" / "weights.pt")
    frozen = {k: v for u in range(1, n + 1) for k, v in _unit(base, u).items()}
    assert any(k.endswith("running_mean") for k in frozen) and any(k.endswith("num_batches_tracked") for k in frozen)
    for k, v in frozen.items():
        assert torch.equal(after[k], v), f"A{n}B-frozen: frozen {k} changed"
    above = [k for k in _unit(base, n + 1) if k.endswith("running_mean")]
    assert above and all(not torch.equal(after[k], base[k]) for k in above)


def test_fine_tuned_units_update_batch_norm_too(bases):
    base = tio.load_torch(bases / "baseB" / "weights.pt")["state_dict"]
    after = _train(bases, "B2B-ft", "B", base=bases / "baseB" / "weights.pt")
    for k in _unit(base, 1):
        if k.endswith(("running_var", "0.weight")):
            assert not torch.equal(after[k], base[k]), k


def test_random_units_keep_torchvisions_initialisation_frozen(prepared):
    arch = dict(NARROW, num_classes=3, input_size=16)
    init = build_derived(arch, parse_net("R2A-frozen"), None, seed=9).state_dict()
    conv = init["blocks.0.0.weight"]
    fan_out = conv.shape[0] * conv.shape[2] * conv.shape[3]
    assert conv.std().item() == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.25)  # kaiming normal, fan-out
    after = _train(prepared, "R2A-frozen", "A", seed=9)
    for u in (1, 2):
        for k, v in _unit(init, u).items():
            assert torch.equal(after[k], v), k


def test_a_caffenet_base_is_refused_by_a_resnet(prepared):
    from conftest import SMALL_ARCH

    _train(prepared, "baseA", "A", arch=SMALL_ARCH)
    with pytest.raises(ConfigError, match="is a caffenet but this network is a resnet"):
        _train(prepared, "A2B-frozen", "B", base=prepared / "baseA" / "weights.pt")


def test_a_resnet_base_of_other_widths_is_refused(bases):
    with pytest.raises(ConfigError, match="widths"):
        _train(bases, "A1B-frozen", "B", base=bases / "baseA" / "weights.pt", arch=dict(NARROW, widths=[8, 24]))
