"""Run folders (transferlab.run.runs): every preset has its own, and a finished run is never retrained with
other settings unless the config says replace."""

import json

import pytest
from workflow_helpers import design_of

from transferlab.errors import RunExists
from transferlab.run.runs import changed_settings, check_run

PRESETS = ["config/config.yaml", *(f"config/{p}.yaml" for p in ("smoke", "full", "paper", "resnet", "resnet18"))]


def test_no_two_presets_share_a_run_folder(tmp_path):
    folders = {
        p: design_of(*([] if p == "config/config.yaml" else [p]), imagenet_root=str(tmp_path)).results for p in PRESETS
    }
    folders["config/smoke-resnet.yaml"] = design_of("config/smoke-resnet.yaml").results
    assert len(set(folders.values())) == len(folders), folders
    assert folders["config/config.yaml"] == "results/tiny-imagenet"  # the default run stays where it was
    assert design_of(run="mine").results == "results/mine"


def _finished(results, design, split="random-0", net="baseA", **train):
    meta = results / "nets" / split / "r0" / net / "train.json"
    meta.parent.mkdir(parents=True, exist_ok=True)
    settings = design.train_settings(split)
    from transferlab.schema import defaults

    record = {
        "train": {**defaults("train"), **settings["train"], **train},
        "arch": dict(settings["arch"], input_size=32),
    }
    meta.write_text(json.dumps(record))


def test_a_finished_run_made_with_the_same_settings_passes(tmp_path):
    d = design_of()
    _finished(tmp_path, d)
    _finished(tmp_path, d, split="all-k50")  # a dataset-size net: its own iteration rule, not a change
    assert changed_settings(tmp_path, d, d.data_params()) == {}


def test_changed_training_model_and_data_settings_are_named(tmp_path):
    d = design_of()
    _finished(tmp_path, d, lr=0.5, workers=3)  # workers changes no result, but is a param of the training jobs
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared/meta.json").write_text(json.dumps({"size": 64, "train_per_class": 0, "val_per_class": 0}))
    (tmp_path / "classes.json").write_text(json.dumps({"dataset": "imagenet", "classes": 10, "class_seed": 0}))
    changed = changed_settings(tmp_path, d, d.data_params())
    assert changed["train.lr"] == (0.5, d.config["train"]["lr"])
    assert changed["data.image_size"] == (64, d.config["data"]["image_size"])
    assert changed["dataset"] == ("imagenet", "tiny-imagenet")
    assert changed["data.classes"] == (10, d.config["data"]["classes"])
    assert changed["train.workers"] == (3, d.config["train"]["workers"])
    lr = d.config["train"]["lr"]
    message = rf"\(train.lr 0.5 -> {lr}, train.workers 3 -> 0 \(changes no result, but retrains\), "
    with pytest.raises(RunExists, match=message + r".*--config run=<name>.*--config replace=true"):
        check_run(tmp_path, d, d.data_params(), replace=False)
    check_run(tmp_path, d, d.data_params(), replace=True)  # said so: nothing stops


def test_a_changed_architecture_is_named(tmp_path):
    d = design_of()
    _finished(tmp_path, d)
    wider = design_of(model={"widths": [96, 256, 384, 384, 256, 512, 512]})
    assert changed_settings(tmp_path, wider, wider.data_params())["model: widths"][1][-1] == 512
