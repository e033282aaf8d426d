"""train.compile on the CPU: a small CaffeNet and a network with frozen layers train under torch.compile (the
paper preset compiles on its GPUs), the compiled net computes what the eager one does, and the frozen layers
stay the base's bit for bit."""

import math

import torch
from conftest import SMALL_ARCH, train_small


def test_compiled_caffenet_and_frozen_net_train(prepared):
    from transferlab.nets import build_model

    # the compiled net computes what the eager one does but for rounding (in eval mode: compiled dropout draws its
    # own masks, so trained weights are not comparable between the two)
    torch.manual_seed(0)
    model = build_model(dict(SMALL_ARCH, num_classes=5, input_size=16)).eval()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(torch.compile(model)(x), model(x), rtol=1e-4, atol=1e-5)

    base = train_small(prepared, "baseA", "A", name="compiled", epochs=1, compile=True)
    assert base.meta["compiled"] is True and math.isfinite(base.meta["history"][-1]["train_loss"])
    frozen = train_small(
        prepared, "A3B-frozen", "B", base=prepared / "compiled/weights.pt", name="A3B", epochs=1, compile=True
    )
    assert frozen.meta["compiled"] is True
    copied = [k for k in base.state if k.startswith(("blocks.0.", "blocks.1.", "blocks.2."))]
    assert copied and all(torch.equal(frozen.state[k], base.state[k]) for k in copied)
    assert any(not torch.equal(frozen.state[k], base.state[k]) for k in base.state if k not in copied)
