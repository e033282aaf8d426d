"""Run folders: which one a config writes, and whether the networks finished there were made with the settings
this config gives, so that a changed setting never retrains a finished run without being asked to.

The detail: docs/library.md, `transferlab/run/runs.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from transferlab.errors import RunExists, TransferlabError
from transferlab.io import atomic_write_json
from transferlab.schema import defaults, without_effect


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _finished(results: Path) -> list[Path]:
    return sorted((results / "nets").glob("*/r*/*/train.json"))


def _device_kind(device: str) -> str:
    return str(device).split(":")[0]


def changed_settings(results, design, data_params: dict) -> dict[str, tuple]:
    """Setting -> (what the finished networks and prepared data under ``results`` were made with, what ``design``
    and ``data_params`` (the data settings, with the data's ``identity`` and the resolved ``device`` where known)
    give), for every setting that changes a result (the schema's ``x-effect: changes``) and differs."""
    results = Path(results)
    changed = {}
    no_effect = without_effect("train")
    train_defaults = {k: v for k, v in defaults("train").items() if k not in no_effect}
    finished = _finished(results)
    for meta_path in finished:
        meta = _read(meta_path)
        if not meta:
            continue
        want = design.train_settings(meta_path.parts[-4])
        train = {**train_defaults, **want["train"]}
        for key, value in train.items():
            if key in meta.get("train", {}) and meta["train"][key] != value:
                changed.setdefault(f"train.{key}", (meta["train"][key], value))
        for key, value in want["arch"].items():
            if key in meta.get("arch", {}) and meta["arch"][key] != value:
                changed.setdefault(f"model: {key}", (meta["arch"][key], value))
        if "device" in data_params and "device" in meta:
            if _device_kind(meta["device"]) != _device_kind(data_params["device"]):
                changed.setdefault("device", (_device_kind(meta["device"]), _device_kind(data_params["device"])))
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
    half = next(iter(sorted((results / "halves").glob("*/*.npz"))), None) if finished else None
    if half is not None and "dev_per_class" in data_params:
        import numpy as np

        try:
            with np.load(half) as z:
                dev = int(z["dev_per_class"]) if "dev_per_class" in z.files else None
        except (OSError, ValueError):
            dev = None
        if dev is not None and dev != data_params["dev_per_class"]:
            changed["data.dev_per_class"] = (dev, data_params["dev_per_class"])
    if "identity" in data_params and (finished or prepared):  # what the data is, from its content
        recorded = classes.get("identity") or prepared.get("identity")
        if recorded and recorded != data_params["identity"]:
            changed["the data (its content)"] = (recorded, data_params["identity"])
    return changed


def recorded_identity(results) -> str | None:
    """The identity of the data the run under ``results`` was made from, if it recorded one."""
    results = Path(results)
    return (_read(results / "prepared/meta.json") or {}).get("identity") or (_read(results / "classes.json") or {}).get(
        "identity"
    )


def made_before_identity(results) -> bool:
    """Whether ``results`` holds work (prepared data or networks) from before runs recorded their data's
    identity: Snakemake would redo it, since its jobs' parameters have changed since."""
    results = Path(results)
    classes = _read(results / "classes.json")
    if classes is None or "identity" in classes:
        return False
    return (results / "prepared/meta.json").exists() or bool(_finished(results))


def check_run(results, design, data_params: dict, replace: bool) -> None:
    """Stop before any job runs when the run's finished networks were made with other settings, unless
    ``replace``: one sentence naming the changed settings and the ways on."""
    if made_before_identity(results) and not replace:
        raise RunExists(
            f"{results} was made by an earlier version of this workflow, whose jobs Snakemake would run again; to "
            f"keep it, adopt it once (python -m transferlab.run.runs adopt -- <the run's --configfile/--config "
            "arguments>), or to redo it, say so (--config replace=true)"
        )
    changed = changed_settings(results, design, data_params)
    if "the data (its content)" in changed and data_params.get("path"):
        from transferlab.data.datasets import open_source

        open_source(design.dataset, data_params["path"]).validate()  # a damaged archive: its own one-line error
    if changed and not replace:
        diff = ", ".join(f"{k} {json.dumps(old)} -> {json.dumps(new)}" for k, (old, new) in changed.items())
        raise RunExists(
            f"{results} holds work made with other settings than this config gives ({diff}); to keep it, "
            "give this config a run of its own (--config run=<name>), or to redo it with the new settings, "
            "say so (--config replace=true)"
        )


def _add_keeping_mtime(path: Path, extra: dict) -> None:
    """Add keys to a JSON record without making it newer (Snakemake would otherwise redo what depends on it)."""
    st = path.stat()
    atomic_write_json(path, {**json.loads(path.read_text()), **extra})
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def adopt(cwd: Path, snakemake_args: list[str], run=subprocess.run) -> list[str]:
    """Keep a run made by an earlier version: check it against the config its arguments give (any changed
    setting refuses), record its data's identity in classes.json and prepared/meta.json (mtimes kept), and
    drop Snakemake's records of the jobs that made its finished files, whose parameters have changed since
    (``snakemake --cleanup-metadata``; the mtime rule still holds). Returns the files whose records went."""
    from transferlab.data.identity import run_data_identity, source_path
    from transferlab.run.configcheck import load_config
    from transferlab.run.design import Design
    from transferlab.run.status import snakemake_config_args

    files, overrides = snakemake_config_args(snakemake_args)
    config = load_config(cwd, files, overrides)
    design = Design(config)
    results = Path(cwd, design.results)
    if not made_before_identity(results):
        return []
    path = source_path(design.dataset, config)
    identity = run_data_identity(design.dataset, path, Path(cwd, ".snakemake/transferlab-identity.json"))
    changed = changed_settings(results, design, {**design.result_data_params(), "identity": identity})
    if changed:
        diff = ", ".join(f"{k} {json.dumps(old)} -> {json.dumps(new)}" for k, (old, new) in changed.items())
        raise RunExists(
            f"{design.results} was made with other settings than these arguments give ({diff}): "
            "adopt it with the arguments it was made with"
        )
    kept = [results / "classes.json", *sorted((results / "prepared").glob("*.*"))]
    for record in (results / "classes.json", results / "prepared/meta.json"):
        if record.exists():
            _add_keeping_mtime(record, {"identity": identity})
    for train in _finished(results):
        kept += [train, train.with_name("weights.pt")]
    names = [str(p.relative_to(cwd)) for p in kept if p.exists()]
    run(
        [sys.executable, "-m", "snakemake", "--cleanup-metadata", *names, *snakemake_args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return names


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    if argv != ["adopt"]:
        print(
            "usage: python -m transferlab.run.runs adopt [-- <the run's --configfile/--config arguments>]\n"
            "Keeps a run made by an earlier version of the workflow: records its data's identity and drops "
            "Snakemake's records of its finished jobs, so nothing is redone.",
            file=sys.stderr,
        )
        return 0 if argv in (["-h"], ["--help"]) else 2
    try:
        names = adopt(Path.cwd(), extra)
    except (TransferlabError, subprocess.CalledProcessError) as e:
        print(f"adopt: {e}", file=sys.stderr)
        return 1
    print(f"adopted: {len(names)} finished files kept" if names else "nothing to adopt: the run is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
