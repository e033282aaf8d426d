"""The registry of network families, transferlab.nets.models: config to arch to model, units, loading."""

import pytest
import torch
from conftest import SMALL_ARCH

from transferlab.errors import ArchError
from transferlab.io import save_torch
from transferlab.nets.caffenet import CONFIG_KEYS, CaffeNet
from transferlab.nets.models import (
    arch_from_config,
    build_model,
    family_of,
    identity_keys,
    load_model,
    transfer_points,
    unit_names,
)
from transferlab.nets.resnet import ResNet

# a model section as the schema fills it: every family's keys are present whichever is chosen
RESNET = {"widths": [8, 16], "blocks": [2, 1], "stem_stride": 1}
SECTION = dict(SMALL_ARCH, lrn=True, batchnorm=False, dropout=0.5, resnet=RESNET)
FAMILIES = [("caffenet", CaffeNet, 16, 7), ("resnet", ResNet, 16, 4), ("resnet18", ResNet, 32, 9)]


def _built(architecture, classes, size):
    arch = arch_from_config(dict(SECTION, architecture=architecture))
    return arch, build_model(dict(arch, num_classes=classes, input_size=size)).eval()


@pytest.mark.parametrize("architecture, cls, size, points", FAMILIES)
def test_each_family_builds_with_the_configured_classes_and_input_size(architecture, cls, size, points):
    arch, m = _built(architecture, 5, size)
    assert type(m) is cls and m.arch["num_classes"] == 5 and m.arch["input_size"] == size
    with torch.no_grad():
        assert m(torch.zeros(2, 3, size, size)).shape == (2, 5)
    # the units named without building are the built net's, and all but the classifier can be copied
    names = [b.name for b in m.blocks] if cls is CaffeNet else m.names
    assert unit_names(arch) == names and len(names) == m.n_units
    assert transfer_points(arch) == m.n_units - 1 == points
    assert set(identity_keys(arch)) <= set(m.arch)  # the keys a base must share exist in the built arch


def test_caffenets_arch_is_its_config_keys_alone():
    arch = arch_from_config(dict(SECTION, architecture="caffenet"))
    assert set(arch) == set(CONFIG_KEYS) and family_of(arch) == "caffenet"  # no family key, no resnet section
    assert arch_from_config({k: SECTION[k] for k in CONFIG_KEYS}) == arch  # caffenet is the default
    named = build_model(dict(arch, family="caffenet", num_classes=3, input_size=16))  # an explicit family is fine
    assert type(named) is CaffeNet and "family" not in named.arch


def test_unknown_architectures_and_families_name_the_choices():
    with pytest.raises(ArchError, match=r"'vgg16' is unknown; expected caffenet, resnet or resnet18"):
        arch_from_config(dict(SECTION, architecture="vgg16"))
    for describe in (family_of, unit_names, transfer_points, identity_keys):
        with pytest.raises(ArchError, match=r"family 'vgg' is unknown; expected one of \['caffenet', 'resnet'\]"):
            describe({"family": "vgg"})
    assert issubclass(ArchError, ValueError)


@pytest.mark.parametrize("architecture", ["caffenet", "resnet"])
def test_load_model_rebuilds_the_saved_family_and_weights(architecture, tmp_path):
    torch.manual_seed(0)
    _, m = _built(architecture, 4, 16)
    for p in m.parameters():  # weights no fresh net has
        p.data.add_(torch.randn_like(p))
    save_torch({"arch": m.arch, "state_dict": m.state_dict()}, tmp_path / "weights.pt")
    back = load_model(tmp_path / "weights.pt").eval()
    assert type(back) is type(m) and back.arch == m.arch
    theirs = back.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in m.state_dict().items())
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(back(x), m(x))
