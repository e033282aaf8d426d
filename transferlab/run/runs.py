"""Run folders: which one a config writes, and whether the networks finished there were made with the settings
this config gives, so that a changed setting never retrains a finished run without being asked to.

The detail: docs/library.md, `transferlab/run/runs.py`."""

from __future__ import annotations

import json
from pathlib import Path

from transferlab.errors import RunExists
from transferlab.schema import defaults, without_effect


def results_folder(config: dict) -> str:
    """``results/<run>``; without a run name ``results/<dataset>`` (CaffeNet) or ``results/<dataset>-<arch>``."""
    if config.get("run"):
        return f"results/{config['run']}"
    arch = config["model"]["architecture"]
    return f"results/{config['dataset']}" + ("" if arch == "caffenet" else f"-{arch}")


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def changed_settings(results, design, data_params: dict) -> dict[str, tuple]:
    """Setting -> (what the finished networks under ``results`` were made with, what ``design`` gives), for
    every training, model and data setting that differs."""
    results = Path(results)
    changed = {}
    for meta_path in sorted((results / "nets").glob("*/r*/*/train.json")):
        meta = _read(meta_path)
        if not meta:
            continue
        want = design.train_settings(meta_path.parts[-4])
        train = {**defaults("train"), **want["train"]}
        for key, value in train.items():
            if key in meta.get("train", {}) and meta["train"][key] != value:
                changed.setdefault(f"train.{key}", (meta["train"][key], value))
        for key, value in want["arch"].items():
            if key in meta.get("arch", {}) and meta["arch"][key] != value:
                changed.setdefault(f"model: {key}", (meta["arch"][key], value))
    prepared = _read(results / "prepared/meta.json") or {}
    for key, recorded in (("image_size", "size"), ("train_per_class", "train_per_class"), ("val_per_class",) * 2):
        if recorded in prepared and prepared[recorded] != data_params[key]:
            changed[f"data.{key}"] = (prepared[recorded], data_params[key])
    classes = _read(results / "classes.json") or {}
    if "dataset" in classes and classes["dataset"] != design.dataset:
        changed["dataset"] = (classes["dataset"], design.dataset)
    for key in ("classes", "class_seed"):
        if key in classes and classes[key] != data_params[key]:
            changed[f"data.{key}"] = (classes[key], data_params[key])
    return changed


def check_run(results, design, data_params: dict, replace: bool) -> None:
    """Stop before any job runs when the run's finished networks were made with other settings, unless
    ``replace``: one sentence naming the changed settings and the ways on."""
    changed = changed_settings(results, design, data_params)
    if changed and not replace:
        # a setting that changes no result still retrains today: its value is part of the training jobs' params
        harmless = {f"train.{k}" for k in without_effect("train")}
        diff = ", ".join(
            f"{k} {json.dumps(old)} -> {json.dumps(new)}"
            + (" (changes no result, but retrains)" if k in harmless else "")
            for k, (old, new) in changed.items()
        )
        raise RunExists(
            f"{results} holds networks trained with other settings than this config gives ({diff}); to keep them, "
            "give this config a run of its own (--config run=<name>), or to retrain them with the new settings, "
            "say so (--config replace=true)"
        )
