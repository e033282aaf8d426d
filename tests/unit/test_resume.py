"""Kill, stop and corrupt training jobs; they must resume to the same weights."""

import io
import json
import os

import pytest
import torch
from conftest import SMALL_ARCH, SMALL_TRAIN

from transferlab import io as tio
from transferlab.training.train import train_network

LONG = dict(SMALL_TRAIN, epochs=40, checkpoint_every_s=1e-6)


def _kwargs(root, name, cfg=LONG):
    return dict(
        net="baseA",
        prepared_dir=str(root / "prepared"),
        half_file=str(root / "A.npz"),
        out_weights=str(root / name / "weights.pt"),
        out_meta=str(root / name / "train.json"),
        state_dir=str(root / name / "state"),
        arch=SMALL_ARCH,
        train_cfg=cfg,
        seed=3,
    )


def _weights(root, name):
    return tio.load_torch(root / name / "weights.pt")["state_dict"]


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stop_and_resume_in_process_is_bitwise_identical(prepared):
    cfg = dict(SMALL_TRAIN, epochs=3)
    train_network(**_kwargs(prepared, "ref", cfg), log=open(os.devnull, "w"))
    kw = _kwargs(prepared, "cut", cfg)
    r = train_network(**kw, stop_after_steps=7, log=open(os.devnull, "w"))  # stops mid-epoch 2
    assert r["stopped"] and not (prepared / "cut" / "weights.pt").exists()
    meta = train_network(**kw, log=open(os.devnull, "w"))
    assert meta["resumed_at_steps"] == [7]
    assert _same(_weights(prepared, "ref"), _weights(prepared, "cut"))
    assert not (prepared / "cut" / "state" / "ckpt.pt").exists()  # state cleaned up after success
    attempts = (prepared / "cut" / "state" / "attempts.log").read_text().splitlines()
    assert [line.split(" ", 3)[2] for line in attempts] == ["training", "stopping", "resumed", "finished"]
    assert "at step 7 (stop_after_steps)" in attempts[1] and "step 7/" in attempts[2]


def test_resume_at_an_epoch_boundary_after_its_record(prepared):
    """A stop on the step that ends an epoch comes after that epoch's record (its row, dev evaluation and
    checkpoint): the resumed run starts the next epoch, and neither repeats nor loses the record."""
    cfg = dict(SMALL_TRAIN, epochs=3)
    train_network(**_kwargs(prepared, "ref", cfg), log=open(os.devnull, "w"))
    kw = _kwargs(prepared, "edge", cfg)
    r = train_network(**kw, stop_after_steps=6, log=open(os.devnull, "w"))  # 6 steps = one whole epoch
    assert r["stopped"]
    progress = tio.load_torch(prepared / "edge" / "state" / "ckpt.pt")["progress"]
    assert (progress["epoch"], progress["batch"], len(progress["history"])) == (1, 0, 1)
    meta = train_network(**kw, log=open(os.devnull, "w"))
    assert meta["resumed_at_steps"] == [6]
    assert [h["epoch"] for h in meta["history"]] == [1, 2, 3]
    ref = json.loads((prepared / "ref" / "train.json").read_text())
    assert [h["lr"] for h in meta["history"]] == pytest.approx([h["lr"] for h in ref["history"]])
    assert [h["lr"] for h in meta["history"]] == pytest.approx([0.01, 0.001, 0.0001])
    assert _same(_weights(prepared, "ref"), _weights(prepared, "edge"))


def test_resume_between_two_records_of_an_iteration_schedule(prepared):
    """The paper preset's schedule in iterations, a record (row, dev evaluation, checkpoint) every so many steps
    (25k there), across epoch ends: a stop between two records resumes to the same weights and the same rows."""
    cfg = dict(SMALL_TRAIN, iterations=15, lr_step_iterations=6, eval_every_iterations=5)
    ref = train_network(**_kwargs(prepared, "ref", cfg), log=open(os.devnull, "w"))
    assert [h["step"] for h in ref["history"]] == [5, 10, 15]
    kw = _kwargs(prepared, "cut", cfg)
    assert train_network(**kw, stop_after_steps=8, log=open(os.devnull, "w"))["stopped"]  # between 5 and 10
    progress = tio.load_torch(prepared / "cut" / "state" / "ckpt.pt")["progress"]
    assert (progress["global_step"], len(progress["history"])) == (8, 1)
    meta = train_network(**kw, log=open(os.devnull, "w"))
    assert meta["resumed_at_steps"] == [8] and meta["steps"] == 15
    rows = ("step", "lr", "train_loss", "train_top1")
    assert [[h[k] for k in rows] for h in meta["history"]] == [[h[k] for k in rows] for h in ref["history"]]
    assert _same(_weights(prepared, "ref"), _weights(prepared, "cut"))


def test_corrupt_checkpoint_falls_back_then_restarts(prepared, capsys):
    cfg = dict(SMALL_TRAIN, epochs=3)
    train_network(**_kwargs(prepared, "ref", cfg), log=open(os.devnull, "w"))
    kw = _kwargs(prepared, "bad", cfg)
    state = prepared / "bad" / "state"
    train_network(**kw, stop_after_steps=4, log=open(os.devnull, "w"))
    train_network(**kw, stop_after_steps=4, log=open(os.devnull, "w"))  # now ckpt (step 8) + prev (step 4)
    data = (state / "ckpt.pt").read_bytes()
    (state / "ckpt.pt").write_bytes(data[: len(data) // 2])  # truncated
    log = open(prepared / "bad.log", "w")
    meta = train_network(**kw, log=log)
    log.close()
    text = (prepared / "bad.log").read_text()
    assert "checksum mismatch" in text and "resumed baseA from" in text and "ckpt.prev.pt" in text
    assert meta["resumed_at_steps"][-1] == 6  # prev = the end of epoch 1 (6 steps)
    assert _same(_weights(prepared, "ref"), _weights(prepared, "bad"))
    # both damaged: start from scratch with a warning, still the same result
    (prepared / "bad" / "weights.pt").unlink()
    train_network(**kw, stop_after_steps=4, log=open(os.devnull, "w"))
    train_network(**kw, stop_after_steps=4, log=open(os.devnull, "w"))
    for name in ("ckpt.pt", "ckpt.prev.pt"):
        (state / name).write_bytes(b"garbage")
    meta = train_network(**kw, log=open(os.devnull, "w"))
    assert meta["resumed_at_steps"] == []
    assert _same(_weights(prepared, "ref"), _weights(prepared, "bad"))


@pytest.mark.parametrize(
    "runtime_min, budget_s",
    [(None, None), (0, None), ("", None), (1, 30.0), (5, 240.0), (30, 1620.0), (120, 6600.0), (1440, 85800.0)],
)
def test_time_budget_from_the_runtime_resource(runtime_min, budget_s):
    # Slurm's `runtime` (minutes) less a margin of 10 %, at least 60 s and at most 10 min, never below half
    from transferlab.training.train import time_budget_from_runtime

    assert time_budget_from_runtime(runtime_min) == budget_s


def test_spent_time_budget_checkpoints_and_the_rerun_resumes_identically(prepared):
    cfg = dict(SMALL_TRAIN, epochs=3)
    train_network(**_kwargs(prepared, "ref", cfg), log=open(os.devnull, "w"))
    kw = _kwargs(prepared, "budget", cfg)
    r = train_network(**kw, time_budget_s=0.0, log=open(os.devnull, "w"))  # spent after the first step
    assert r == {"stopped": "time budget", "global_step": 1}
    assert not (prepared / "budget" / "weights.pt").exists()
    meta = train_network(**kw, log=open(os.devnull, "w"))
    assert meta["resumed_at_steps"] == [1]
    assert _same(_weights(prepared, "ref"), _weights(prepared, "budget"))


def test_each_network_has_its_own_data_order_fixed_by_seed_and_epoch():
    from transferlab.data.batches import epoch_order

    a = epoch_order(11, 0, 500)
    assert sorted(a.tolist()) == list(range(500))  # a permutation of the training images
    assert (a == epoch_order(11, 0, 500)).all()  # reproducible: what resumption relies on
    assert not (a == epoch_order(12, 0, 500)).all()  # another network (seed), another order
    assert not (a == epoch_order(11, 1, 500)).all()  # another epoch, another order


@pytest.mark.parametrize("killed_at", range(8))
def test_a_kill_anywhere_in_a_checkpoint_write_leaves_a_loadable_checkpoint(tmp_path, monkeypatch, killed_at):
    """checkpoints.save renames files four times (and writes two files before): a kill before any of those steps
    leaves the old or the new state loadable, never neither."""
    from transferlab.training import checkpoints as T

    state = tmp_path / "state"
    T.save(state, {"fingerprint": "f", "progress": {"global_step": 1}})
    T.save(state, {"fingerprint": "f", "progress": {"global_step": 2}})
    calls = {"n": 0}
    real_replace, real_save = os.replace, tio.save_torch

    class Killed(Exception):
        pass

    def counting(fn):
        def wrapped(*a, **k):
            if calls["n"] == killed_at:
                raise Killed
            calls["n"] += 1
            return fn(*a, **k)

        return wrapped

    monkeypatch.setattr(T.os, "replace", counting(real_replace))
    monkeypatch.setattr(T.tio, "save_torch", counting(real_save))
    try:
        T.save(state, {"fingerprint": "f", "progress": {"global_step": 3}})
        finished = True
    except Killed:
        finished = False
    monkeypatch.setattr(T.os, "replace", real_replace)
    loaded = T.load(state, "f", io.StringIO())
    assert loaded is not None, sorted(p.name for p in state.iterdir())
    step = loaded[0]["progress"]["global_step"]
    assert step == 3 if finished else step in (2, 3)
