"""Run folders (transferlab.run.runs): every preset has its own, and a finished run is never retrained with
other settings unless the config says replace."""

import json

import pytest
from workflow_helpers import design_of

from transferlab.errors import RunExists
from transferlab.run.runs import adopt, changed_settings, check_run, made_before_identity

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
    _finished(tmp_path, d, lr=0.5, workers=3, checkpoint_every_s=1)  # how it ran: not a change
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared/meta.json").write_text(json.dumps({"size": 64, "train_per_class": 0, "val_per_class": 0}))
    (tmp_path / "classes.json").write_text(
        json.dumps({"dataset": "imagenet", "classes": 10, "class_seed": 0, "identity": "md5:x"})
    )
    changed = changed_settings(tmp_path, d, d.data_params())
    assert changed["train.lr"] == (0.5, d.config["train"]["lr"])
    assert changed["data.image_size"] == (64, d.config["data"]["image_size"])
    assert changed["dataset"] == ("imagenet", "tiny-imagenet")
    assert changed["data.classes"] == (10, d.config["data"]["classes"])
    assert not {k for k in changed if "workers" in k or "checkpoint" in k}
    lr = d.config["train"]["lr"]
    message = rf"\(train.lr 0.5 -> {lr}, data.image_size 64 -> {d.config['data']['image_size']}, "
    with pytest.raises(RunExists, match=message + r".*--config run=<name>.*--config replace=true"):
        check_run(tmp_path, d, d.data_params(), replace=False)
    check_run(tmp_path, d, d.data_params(), replace=True)  # said so: nothing stops


def test_a_changed_architecture_is_named(tmp_path):
    d = design_of()
    _finished(tmp_path, d)
    wider = design_of(model={"widths": [96, 256, 384, 384, 256, 512, 512]})
    assert changed_settings(tmp_path, wider, wider.data_params())["model: widths"][1][-1] == 512


def test_every_setting_that_changes_a_result_is_named_and_no_other(tmp_path):
    """The schema's classes, checked key by key: a train or model key marked ``changes`` is named when it differs
    from what the finished network was made with; a key marked ``none`` never is (and is not in the training
    jobs' settings, so Snakemake reruns nothing for it)."""
    from transferlab.schema import load_schema

    d = design_of()
    _finished(tmp_path, d)
    schema = load_schema()["properties"]
    for key, spec in schema["train"]["properties"].items():
        if key == "iterations_of_full_set":
            continue  # set by the workflow itself, per split
        value = d.config["train"][key]
        kind = spec.get("type")
        kind = kind[0] if isinstance(kind, list) else kind  # [integer, string]: a number or auto
        other = {"boolean": lambda v: not v, "integer": lambda v: v + 1, "number": lambda v: v / 2 if v else 0.5}.get(
            kind, lambda v: [*v, 1] if isinstance(v, list) else ("x" if v != "x" else "y")
        )(value)
        if spec.get("enum"):
            other = next(e for e in spec["enum"] if e != value)
        changed = changed_settings(tmp_path, design_of(train={key: other}), d.data_params())
        if spec["x-effect"] == "none":
            assert not changed and key not in d.train_settings()["train"], key
        else:
            assert spec["x-effect"] == "changes" and set(changed) == {f"train.{key}"}, (key, changed)
    for key, spec in schema["model"]["properties"].items():
        if key in ("architecture", "resnet"):
            continue  # another family: another results folder (test_no_two_presets_share_a_run_folder)
        value = d.config["model"][key]
        if spec.get("enum"):
            other = next(e for e in spec["enum"] if e != value)
        elif isinstance(value, list):
            other = [w + 1 for w in value]
        elif isinstance(value, bool):
            other = not value
        else:
            other = value / 2 if isinstance(value, float) else value + 1
        assert spec["x-effect"] == "changes" and changed_settings(
            tmp_path, design_of(model={key: other}), d.data_params()
        ), key


def test_every_schema_key_has_a_class():
    from transferlab.schema import load_schema

    def leaves(props, prefix=""):
        for key, spec in props.items():
            if spec.get("type") == "object" and "properties" in spec:
                yield from leaves(spec["properties"], f"{prefix}{key}.")
            else:
                yield prefix + key, spec.get("x-effect")

    classes = dict(leaves(load_schema()["properties"]))
    assert {k: c for k, c in classes.items() if c not in ("none", "adds", "recomputes", "changes")} == {}


def test_other_data_or_another_device_is_a_change_once_work_is_finished(tmp_path):
    d = design_of()
    data = d.config["data"]
    (tmp_path / "classes.json").write_text(
        json.dumps({"identity": "md5:aaa", "classes": data["classes"], "class_seed": data["class_seed"]})
    )
    given = {**d.data_params(), "identity": "md5:bbb", "device": "cpu"}
    assert changed_settings(tmp_path, d, given) == {}  # only classes listed: nothing finished yet
    _finished(tmp_path, d)
    meta = tmp_path / "nets/random-0/r0/baseA/train.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "device": "cuda:0"}))
    changed = changed_settings(tmp_path, d, given)
    assert changed == {"the data (its content)": ("md5:aaa", "md5:bbb"), "device": ("cuda", "cpu")}
    assert changed_settings(tmp_path, d, {**given, "identity": "md5:aaa", "device": "cuda"}) == {}


def test_a_run_from_before_identities_stops_until_adopted(tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    (root / "workflow/schemas").mkdir(parents=True)
    from workflow_helpers import REPO as ROOT

    shutil.copy(ROOT / "config/config.yaml", root / "config/config.yaml")
    shutil.copy(ROOT / "workflow/schemas/config.schema.yaml", root / "workflow/schemas/config.schema.yaml")
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(b"not really a zip, only hashed here")
    d = design_of(tiny_imagenet_path=str(archive))
    results = root / d.results
    results.mkdir(parents=True)
    data = d.config["data"]
    classes = {"dataset": "tiny-imagenet", "classes": data["classes"], "class_seed": data["class_seed"]}
    (results / "classes.json").write_text(json.dumps(classes))
    assert not made_before_identity(results)  # nothing finished: list_classes simply runs again
    _finished(results, d)
    (results / "prepared").mkdir()
    prepared = {k: data[k] for k in ("train_per_class", "val_per_class")} | {"size": data["image_size"]}
    (results / "prepared/meta.json").write_text(json.dumps(prepared))
    assert made_before_identity(results)
    with pytest.raises(RunExists, match=r"earlier version.*runs adopt.*replace=true"):
        check_run(results, d, d.data_params(), replace=False)
    mtime = (results / "classes.json").stat().st_mtime_ns
    calls = []
    monkeypatch.setenv("TINY_IMAGENET_PATH", str(archive))
    names = adopt(root, [], run=lambda cmd, **kw: calls.append(cmd))
    import hashlib

    identity = "md5:" + hashlib.md5(archive.read_bytes()).hexdigest()
    assert json.loads((results / "classes.json").read_text())["identity"] == identity
    assert json.loads((results / "prepared/meta.json").read_text())["identity"] == identity
    assert (results / "classes.json").stat().st_mtime_ns == mtime  # not newer: nothing downstream is redone
    assert calls and calls[0][3] == "--cleanup-metadata" and set(calls[0][4:]) == set(names)
    assert f"{d.results}/nets/random-0/r0/baseA/train.json" in names and f"{d.results}/classes.json" in names
    assert not made_before_identity(results)
    check_run(results, d, {**d.data_params(), "identity": identity}, replace=False)


def test_a_changed_dev_slice_is_named_once_networks_are_finished(tmp_path):
    import numpy as np

    d = design_of(data={"dev_per_class": 5})
    (tmp_path / "halves/random-0").mkdir(parents=True)
    np.savez(tmp_path / "halves/random-0/A.npz", dev_per_class=np.int64(5))
    assert changed_settings(tmp_path, d, design_of().result_data_params()) == {}  # no network finished yet
    _finished(tmp_path, d)
    assert changed_settings(tmp_path, d, d.result_data_params()) == {}
    other = design_of(data={"dev_per_class": 3})
    assert changed_settings(tmp_path, other, other.result_data_params()) == {"data.dev_per_class": (5, 3)}
