"""The trainer: the dev slice monitored instead of the validation images, the random-weights init, the
dataset-size networks' equal iteration count, multi-step schedules, the progress line, a diverging loss."""

import numpy as np
import pytest
import torch
from conftest import SMALL_ARCH, SMALL_TRAIN, half_file, train_small

from transferlab.data import datasets as data
from transferlab.errors import TrainingDiverged
from transferlab.names import parse_net
from transferlab.nets.caffenet import CAFFE_INIT, CaffeNet
from transferlab.nets.transfer import build_derived
from transferlab.training import train


def _train(prepared, half_file, net="baseA", **cfg):
    return train_small(prepared, net, half_file, **cfg).meta


def test_training_monitors_the_dev_slice_never_the_validation_images(prepared, tmp_path, monkeypatch):
    _, half = half_file(prepared, tmp_path, dev_per_class=3)
    seen = []
    real = train.evaluate

    def spy(model, images, idx, *a, **k):
        seen.append(np.asarray(idx).copy())
        return real(model, images, idx, *a, **k)

    monkeypatch.setattr(train, "evaluate", spy)
    meta = _train(prepared, half)
    h = np.load(half)
    assert seen and all(np.array_equal(s, h["dev_idx"]) for s in seen)
    assert all("dev_top1" in r and "val_top1" not in r for r in meta["history"])


def test_dataset_size_nets_train_as_many_iterations_as_the_full_set(prepared, tmp_path):
    _, capped = half_file(prepared, tmp_path, dev_per_class=2, train_per_class=2)
    k = len(data.load_half(prepared / "prepared", capped)["wnids"])
    bs, epochs = SMALL_TRAIN["batch_size"], SMALL_TRAIN["epochs"]
    plain = _train(prepared, capped)
    same = _train(prepared, capped, net="baseB", iterations_of_full_set=True)
    assert plain["steps"] == epochs * (2 * k // bs)
    assert same["steps"] == epochs * (6 * k // bs) > plain["steps"]


def test_lr_milestones(prepared, tmp_path):
    _, half = half_file(prepared, tmp_path, dev_per_class=2)
    meta = _train(prepared, half, epochs=4, lr=0.1, lr_gamma=0.1, lr_milestones=[1, 3])
    assert [r["lr"] for r in meta["history"]] == pytest.approx([0.1, 0.01, 0.01, 0.001])


def test_progress_line_has_time_speed_and_eta():
    row = {"train_loss": 1.0, "train_top1": 0.5, "dev_top1": 0.4, "images_per_s": 1234.0}
    line = train.progress_line("baseA", 3, 10, row, 0.01, 300, 1000, 90.0)
    assert "epoch 3/10" in line and "step 300/1000" in line and "1234 img/s" in line
    assert "elapsed 0:01:30" in line and "left 0:03:30" in line and line[:4].isdigit()


def test_random_weight_layers_use_caffe_gaussian_init():
    arch = dict(SMALL_ARCH, widths=[64, 64, 64, 64, 64, 256, 256], num_classes=5, input_size=16)
    m = build_derived(arch, parse_net("R3B-frozen"), None, seed=0)
    for layer in (1, 2, 3):
        std, bias = CAFFE_INIT[m.block(layer).name]
        assert m.block(layer).layer.weight.std().item() == pytest.approx(std, rel=0.1)
        assert torch.all(m.block(layer).layer.bias == bias)
    fresh = CaffeNet(arch)  # kaiming above the random layers, as in every trained layer
    assert m.block(4).layer.weight.std().item() == pytest.approx(fresh.block(4).layer.weight.std().item(), rel=0.1)
    assert m.block(4).layer.weight.std().item() > 5 * CAFFE_INIT["conv4"][0]


def test_progress_round_trips_and_reads_checkpoints_of_the_code_before():
    """Progress is saved as a dict; a checkpoint written before the record's sums had names (the triple
    ``acc``) resumes with the same sums."""
    p = train.Progress(epoch=2, batch=3, global_step=23, loss_sum=4.5, correct=7, images=32, resumes=[10])
    assert train.Progress.from_dict(p.to_dict()) == p
    old = {
        "epoch": 2,
        "batch": 3,
        "global_step": 23,
        "history": [],
        "train_seconds": 1.0,
        "acc": [4.5, 7, 32],
        "resumes": [10],
    }
    q = train.Progress.from_dict(old)
    assert (q.loss_sum, q.correct, q.images, q.global_step) == (4.5, 7, 32, 23)


def test_the_stop_policy_says_why():
    import signal
    import time

    assert train.StopPolicy(time.time()).why(10**6) is None
    assert train.StopPolicy(time.time() - 5, time_budget_s=1).why(0) == "time budget"
    assert train.StopPolicy(time.time(), stop_after_steps=3).why(2) is None
    assert train.StopPolicy(time.time(), stop_after_steps=3).why(3) == "stop_after_steps"
    with train.StopPolicy(time.time() - 5, time_budget_s=1) as stop:
        signal.raise_signal(signal.SIGUSR1)
        assert stop.why(0) == "SIGUSR1"  # a signal comes first
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # handlers restored


def test_diverging_loss_fails_clearly_and_writes_nothing(prepared):
    with pytest.raises(TrainingDiverged, match="loss became"):
        _train(prepared, prepared / "A.npz", lr=1e12)
    assert not (prepared / "baseA" / "weights.pt").exists()
    assert not (prepared / "baseA" / "train.json").exists()


def test_resident_images_train_to_the_same_weights_and_the_mode_follows_the_memory(prepared):
    """train.resident: the half's images held in memory and every batch cut there by indexing gives bit-identical
    weights to streaming them; with auto, a memory limit that holds them makes the job resident, one that does not
    makes it stream, and the job's log says which and why."""
    import io

    from transferlab.data.batches import resident_plan

    streamed = train_small(prepared, "baseA", "A", name="streamed")
    need = streamed.meta["n_train"] * 20 * 20 * 3  # the prepared fixture's 20-px images
    assert resident_plan("auto", need, "cpu", limit_gb=need / 2**30 * 1.01)[0] is True
    assert resident_plan("auto", need, "cpu", limit_gb=need / 2**30 * 0.99)[0] is False
    assert resident_plan("auto", need, "cpu")[0] is False  # the CPU's page cache holds them already
    assert resident_plan("auto", need, "cuda:0", free=need + (16 << 30))[0] is True
    assert resident_plan("auto", need, "cuda:0", free=need + (16 << 30) - 1)[0] is False
    assert resident_plan("off", need, "cuda:0", free=1 << 40) == (False, "streaming: train.resident is off")
    logs = {}
    for name, limit in (("held", 1.0), ("too-small", 1e-6)):
        log = io.StringIO()
        run = train_small(prepared, "baseA", "A", name=name, log=log, resident_memory_gb=limit)
        logs[name] = log.getvalue()
        assert all(torch.equal(run.state[k], streamed.state[k]) for k in run.state), name
        assert [h["train_loss"] for h in run.meta["history"]] == [h["train_loss"] for h in streamed.meta["history"]]
    assert "images: resident: the 0.00 GiB of training images fit in train.resident_memory_gb 1" in logs["held"]
    assert (
        "images: streaming: the 0.00 GiB of training images do not fit in train.resident_memory_gb 1e-06"
        in logs["too-small"]
    )
