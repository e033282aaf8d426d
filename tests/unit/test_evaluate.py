"""Evaluation: a network's top-1/top-5, its per-image correctness vector, the collected table, and damaged inputs."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_ARCH, SMALL_TRAIN, recording_job_device

from transferlab import io as tio
from transferlab.data.datasets import load_half
from transferlab.errors import DatasetError
from transferlab.training.evaluate import COLUMNS, collect, evaluate_network
from transferlab.training.train import train_network

RECORD = {
    "dataset": "tiny-imagenet",
    "architecture": "caffenet",
    "transfer_points": 7,
    "experiment": "random_split",
    "split": "random-0",
    "replicate": 0,
    "base_task": "A",
    "target_task": "A",
}


@pytest.fixture
def trained(prepared):
    root = prepared
    train_network(
        net="baseA",
        prepared_dir=root / "prepared",
        half_file=root / "A.npz",
        out_weights=root / "net/weights.pt",
        out_meta=root / "net/train.json",
        state_dir=root / "state",
        arch=SMALL_ARCH,
        train_cfg=SMALL_TRAIN,
        seed=3,
        log=io.StringIO(),
    )
    return root


def _constant_predictor(root, cls: int):
    """Rewrite the trained net so it answers class ``cls`` for every image (last layer: zero weights, one bias)."""
    ck = tio.load_torch(root / "net/weights.pt")
    sd = ck["state_dict"]
    sd["blocks.7.layer.weight"].zero_()
    sd["blocks.7.layer.bias"].copy_(torch.arange(sd["blocks.7.layer.bias"].numel()).eq(cls).float() * 10)
    tio.save_torch(ck, root / "net/weights.pt")


def _evaluate(root, name="baseA.json"):
    return evaluate_network(
        weights=root / "net/weights.pt",
        meta_file=root / "net/train.json",
        prepared_dir=root / "prepared",
        half_file=root / "A.npz",
        out=root / "eval" / name,
        record=RECORD,
    )


def _bits(row) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(row["correct_top1"]), dtype=np.uint8))[: row["n_val"]].astype(bool)


@pytest.mark.parametrize("cls", [0, 2])
def test_a_constant_predictor_scores_the_share_of_its_class(trained, cls):
    _constant_predictor(trained, cls)
    row = _evaluate(trained)
    _, _, y = load_half(trained / "prepared", trained / "A.npz")["val"]
    assert row["n_val"] == len(y) == 9  # 3 classes x 3 validation images
    assert row["top1"] == pytest.approx(np.mean(y == cls))
    np.testing.assert_array_equal(_bits(row), y == cls)  # each image's bit, in the half's validation order
    assert row["top5"] == 1.0  # 3 classes: the top 5 hold every class
    assert row["network"] == "baseA" and row["n"] == 0 and row["treatment"] == "base"
    assert row["n_train"] == 3 * 8 and row["train_per_class"] == 8 and row["epochs"] == SMALL_TRAIN["epochs"]
    assert json.loads((trained / "eval/baseA.json").read_text()) == row


def test_correctness_vector_agrees_with_top1_for_a_trained_net(trained):
    row = _evaluate(trained)
    assert _bits(row).mean() == pytest.approx(row["top1"])
    assert 0 <= row["top1"] <= row["top5"] <= 1 and row["val_loss"] > 0


def test_collect_builds_the_table_and_the_predictions(trained):
    _constant_predictor(trained, 1)
    a = _evaluate(trained, "a.json")
    b = evaluate_network(
        weights=trained / "net/weights.pt",
        meta_file=trained / "net/train.json",
        prepared_dir=trained / "prepared",
        half_file=trained / "A.npz",
        out=trained / "eval/b.json",
        record=dict(RECORD, replicate=1),
    )
    df = collect(
        [trained / "eval/b.json", trained / "eval/a.json"],
        trained / "evaluation.parquet",
        trained / "predictions.parquet",
    )
    assert list(df.columns) == list(COLUMNS) and len(df) == 2
    assert df.replicate.tolist() == [0, 1]  # sorted, whatever the order of the records
    assert dict(df.dtypes.astype(str))["n"] == "int64" and df.top1.tolist() == [a["top1"], b["top1"]]
    on_disk = pd.read_parquet(trained / "evaluation.parquet")
    pd.testing.assert_frame_equal(on_disk, df)
    pred = pd.read_parquet(trained / "predictions.parquet")
    assert sorted(pred.correct_top1) == sorted([a["correct_top1"], b["correct_top1"]])
    with pytest.raises(ValueError, match="no evaluation records"):
        collect([], trained / "x.parquet")


def test_corrupt_weights_at_evaluation_name_the_file(trained):
    w = trained / "net/weights.pt"
    w.write_bytes(w.read_bytes()[:100])  # truncated by a full disk or a copy cut short
    with pytest.raises(tio.CorruptCheckpoint, match=r"weights\.pt: checksum mismatch"):
        _evaluate(trained)
    assert not (trained / "eval/baseA.json").exists()  # no half-written record is taken as complete


@pytest.mark.parametrize("name", ["val_images.npy", "train_images.npy"])
def test_corrupt_prepared_arrays_name_the_file(trained, name):
    f = trained / "prepared" / name
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(DatasetError, match=rf"{name}.*(truncated|corrupt).*prepared"):
        load_half(trained / "prepared", trained / "A.npz")


def test_a_net_trained_on_separable_classes_scores_far_above_chance(prepared):
    """The fake classes differ by a colour tint: ten epochs learn it (measured: 9 of 9 validation images; chance
    is 3 of 9, and a net that answers one class scores exactly that)."""
    train_network(
        net="baseA",
        prepared_dir=prepared / "prepared",
        half_file=prepared / "A.npz",
        out_weights=prepared / "net/weights.pt",
        out_meta=prepared / "net/train.json",
        state_dir=prepared / "state",
        arch=SMALL_ARCH,
        train_cfg=dict(SMALL_TRAIN, epochs=10, lr_step_epochs=1000),
        seed=3,
        log=io.StringIO(),
    )
    row = _evaluate(prepared)
    assert row["top1"] >= 7 / 9, row["top1"]


def test_evaluation_runs_on_the_jobs_claimed_device(trained, monkeypatch):
    """evaluate_network(device="cuda") claims the device as training does (transferlab.training.devices.job_device),
    runs the network and the batches there (it ran on the CPU whatever the job's device), and releases it;
    the record is the CPU's."""

    from transferlab.training import evaluate as tevaluate

    on_cpu = _evaluate(trained, "cpu.json")
    used = []
    claims, fake_job_device = recording_job_device()

    real_evaluate, real_load, moves = tevaluate.evaluate, tevaluate.load_model, []

    def spy(model, images, idx, y, crop, transform, batch_size, device, *a, **kw):
        used.append((device, moves[:], str(transform.device), claims[-1][1]))
        return real_evaluate(model, images, idx, y, crop, transform, batch_size, device, *a, **kw)

    def load_and_watch(weights):  # the devices the network is moved to
        model = real_load(weights)
        to = model.to
        model.to = lambda *a, **kw: moves.extend(str(d) for d in a) or to(*a, **kw)
        return model

    monkeypatch.setattr(tevaluate, "job_device", fake_job_device)
    monkeypatch.setattr(tevaluate, "evaluate", spy)
    monkeypatch.setattr(tevaluate, "load_model", load_and_watch)
    row = evaluate_network(
        weights=trained / "net/weights.pt",
        meta_file=trained / "net/train.json",
        prepared_dir=trained / "prepared",
        half_file=trained / "A.npz",
        out=trained / "eval/gpu.json",
        record=RECORD,
        device="cuda",
    )
    assert claims == [["cuda", "released"]] and used == [("cpu:0", ["cpu:0"], "cpu:0", "held")]
    assert row == on_cpu
