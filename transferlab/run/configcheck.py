"""Config validation against the workflow's JSON schema, with short error messages.

The detail: docs/library.md, `transferlab/run/configcheck.py`."""

from __future__ import annotations

import copy
import difflib
import json
import os
from pathlib import Path

import jsonschema
import yaml

from transferlab.errors import InvalidConfig

MAX_PROBLEMS = 5

_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
_EXPECTED = {
    "minimum": ">= {}",
    "maximum": "<= {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minItems": "at least {} item(s)",
    "maxItems": "at most {} item(s)",
    "pattern": "a match of {}",
}


def validate_config(config: dict, schema_path) -> None:
    """Validate ``config`` in place, filling in schema defaults; raise ``InvalidConfig`` if invalid.

    One nested key on the command line, ``--config 'train={epochs: 5}'``, reaches here as the string ``"5"``
    (Snakemake merges it into ``train`` key by key): a string where the schema wants a number, a boolean or
    a list is read as YAML first when that gives the wanted type."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    coerce_strings(config, schema)
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = sorted(_with_defaults(base)(schema).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [line for e in errors for line in _describe(e)]
    if problems:
        more = len(problems) - MAX_PROBLEMS
        raise InvalidConfig(
            f"invalid config (schema: {os.path.relpath(schema_path)}):\n  "
            + "\n  ".join(problems[:MAX_PROBLEMS])
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    check_cross_fields(config)


def load_config(root, configfiles=(), overrides: dict | None = None) -> dict:
    """The config Snakemake builds in the project folder ``root``: config/config.yaml, then each of
    ``configfiles`` (``--configfile``) and ``overrides`` (``--config``, as Snakemake parses it) laid over it
    key by key, validated with the schema's defaults filled in."""
    root = Path(root)
    config = yaml.safe_load((root / "config/config.yaml").read_text()) or {}
    for layer in [yaml.safe_load(Path(root, f).read_text()) or {} for f in configfiles] + [overrides or {}]:
        _merge(config, layer)
    validate_config(config, root / "workflow/schemas/config.schema.yaml")
    return config


def _merge(config: dict, layer: dict) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            _merge(config[key], value)
        else:
            config[key] = value


def check_cross_fields(config: dict) -> None:
    """What the schema cannot say, one key against another: layers within the architecture's transfer points,
    a dataset's folder given and present, a crop no larger than the images."""
    from transferlab.nets.models import arch_from_config, unit_names

    units = unit_names(arch_from_config(config["model"]))
    points = list(range(1, len(units)))
    architecture = config["model"]["architecture"]
    for name in ("random_split", "natman", "random_weights"):
        bad = [n for n in config["experiments"][name]["layers"] if n not in points]
        if bad:
            raise InvalidConfig(
                f"config experiments.{name}.layers: {bad} outside 1..{len(points)}: model.architecture "
                f"{architecture} has {len(units)} transfer units ({', '.join(units)}), and the last is always new"
            )
    if config["inspect_n"] not in points:
        raise InvalidConfig(
            f"config inspect_n={config['inspect_n']} is outside 1..{len(points)}, the transfer "
            f"points of model.architecture {architecture}"
        )
    dataset = config["dataset"]
    folders = {
        "imagenet": (
            "imagenet_root",
            "the ILSVRC2012 folder, e.g.",
            "ILSVRC2012",
            "ILSVRC2012 in ImageFolder layout (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG)",
        ),
        "imagefolder": (
            "imagefolder_root",
            "your image folder, e.g.",
            "images",
            "train/<class>/ and val/<class>/ image folders",
        ),
    }
    if dataset in folders:
        key, what, example, layout = folders[dataset]
        if not config.get(key):
            raise InvalidConfig(
                f"config {key} is empty: with dataset={dataset} give {what} snakemake --config "
                f"dataset={dataset} {key}=/path/to/{example}"
            )
        if not os.path.isdir(config[key]):
            raise InvalidConfig(f"config {key}={config[key]!r} is not a folder; expected {layout}")
    crop, size = config["train"]["crop_size"], config["data"]["image_size"]
    if crop > size:
        raise InvalidConfig(f"config train.crop_size={crop} is larger than data.image_size={size}")


def check_classes(config: dict, classes: list[str] | None) -> None:
    """Checks on the classes the run selects (``None``: not known yet, the data still to be downloaded): the
    user's splits must cover them exactly, and the natural/man-made split needs WordNet ids."""
    from transferlab.data import datasets as data
    from transferlab.data import splits

    d = config["data"]
    selection = f" (data.classes={d['classes']}, class_seed={d['class_seed']})" if d["classes"] else ""
    for name, path in config["splits"].items():
        splits.check_custom_split(name, path, classes, selection)
    if config["dataset"] == "imagefolder" and config["experiments"]["natman"]["enabled"]:
        bad = [c for c in classes if not data.is_wnid(c)]
        if bad:
            raise InvalidConfig(
                f"experiments.natman is unavailable for imagefolder_root={config['imagefolder_root']!r}: the "
                f"natural/man-made split reads each class in WordNet, and {len(bad)} class folder(s) are not WordNet "
                f"ids (n + 8 digits), e.g. {bad[:3]}; disable it (experiments.natman.enabled: false) or give your own "
                "A/B halves under splits: (README, 'Your own data')"
            )


_PY_TYPES = {"integer": int, "number": (int, float), "boolean": bool, "array": list, "null": type(None)}


def coerce_strings(node, schema: dict) -> None:
    """Strings where ``schema`` allows another type, read as YAML when that gives it (in place), inside lists too:
    ``--config 'train={lr_milestones: [50, 80]}'`` reaches here as ``["50", "80"]``, ``train={workers: 4}``
    as ``"4"`` (an integer or ``auto``)."""
    if not isinstance(node, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        if name in node:
            node[name] = _coerced(node[name], sub)


def _coerced(value, schema: dict):
    if isinstance(value, dict):
        coerce_strings(value, schema)
        return value
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_coerced(v, items) for v in value] if isinstance(items, dict) else value
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if not isinstance(value, str) or not set(types) - {"string"}:
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    wanted = tuple(
        t
        for k in types
        if k in _PY_TYPES
        for t in (_PY_TYPES[k] if isinstance(_PY_TYPES[k], tuple) else (_PY_TYPES[k],))
    )
    if isinstance(parsed, wanted) and not (isinstance(parsed, bool) and bool not in wanted):
        return parsed
    return value


def _with_defaults(validator_class):
    """``validator_class`` that first sets each missing property to its schema default (as Snakemake does)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _value(v) -> str:
    s = json.dumps(v, default=str)
    return s if len(s) <= 60 else s[:57] + "..."


def _describe(e) -> list[str]:
    key, kind, arg = _key(e.absolute_path), e.validator, e.validator_value
    if kind == "additionalProperties":
        known = sorted(e.schema.get("properties", {}))
        lines = []
        for extra in sorted(set(e.instance) - set(known)):
            name = f"{key}.{extra}" if e.absolute_path else extra
            close = difflib.get_close_matches(extra, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys here: {', '.join(known)}"
            lines.append(f"{name} = {_value(e.instance[extra])}: unknown key; {hint}")
        return lines
    if kind in ("type", "pattern", "minimum") and e.schema.get("pattern") == "^auto$":  # a number, or auto
        floor = f" >= {e.schema['minimum']}" if "minimum" in e.schema else ""
        expected = f"an integer{floor} or auto"
    elif kind == "type":
        expected = " or ".join(_TYPES.get(t, t) for t in ([arg] if isinstance(arg, str) else arg))
    elif kind == "enum":
        expected = "one of " + ", ".join(map(_value, arg))
    elif kind in _EXPECTED:
        expected = _EXPECTED[kind].format(arg)
    else:
        return [f"{key} = {_value(e.instance)}: {e.message}"]
    return [f"{key} = {_value(e.instance)}: expected {expected}"]


# ----------------------------------------------------------------------------- config/README.md
EFFECTS = {  # what a change of a key does to a finished run (the schema's x-effect; transferlab/run/runs.py)
    "none": "reruns nothing",
    "adds": "trains only what it adds",
    "recomputes": "redoes the tables it feeds",
    "changes": "a new run (stops unless run= or replace=true)",
}


def _rows(props: dict, prefix: str = ""):
    for name, sub in props.items():
        key = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub:
            if sub.get("description"):
                yield key, "mapping", "", sub["description"], ""
            yield from _rows(sub["properties"], key + ".")
            continue
        kind = sub.get("type") or ("one of " + ", ".join(map(str, sub["enum"])) if "enum" in sub else "")
        if "enum" in sub and sub.get("type"):
            kind = "one of " + ", ".join(json.dumps(v) for v in sub["enum"])
        if isinstance(kind, list):
            kind = " or ".join(kind)
        limits = [f"{'≥' if k == 'minimum' else '≤'} {sub[k]}" for k in ("minimum", "maximum") if k in sub]
        if sub.get("pattern") == "^auto$":  # a number, or auto
            kind, limits = " ".join(["integer", *limits, "or auto"]), []
        default = json.dumps(sub["default"]) if "default" in sub else ""
        kinds = ", ".join([kind, *limits]) if kind else ", ".join(limits)
        yield key, kinds, default, sub.get("description", ""), EFFECTS.get(sub.get("x-effect"), "")


def config_reference(schema_path) -> str:
    """config/README.md: every key of the schema with its type, default and description."""
    from transferlab.report import markdown_table  # pandas: not imported while Snakemake reads the workflow

    schema = yaml.safe_load(Path(schema_path).read_text())
    lines = [
        "# Configuration keys",
        "",
        "<!-- generated by `python -m transferlab.run.configcheck` from workflow/schemas/config.schema.yaml; "
        "do not edit by hand -->",
        "",
        f"{schema.get('description', '')} `config/config.yaml` is the default; a `--configfile` is read on top "
        "of it (mappings merged key by key), and `--config key=value` on top of both (one nested key: "
        "`--config 'train={epochs: 5}'`). Every key is checked against the schema before any job runs. The column "
        "'on a finished run' says what changing the key does to a run whose networks are finished.",
        "",
    ]
    rows = [
        [f"`{key}`", kind, f"`{default}`" if default else "", effect, " ".join(str(desc).split())]
        for key, kind, default, desc, effect in _rows(schema["properties"])
    ]
    return "\n".join(lines) + "\n" + markdown_table(rows, ["key", "type", "default", "on a finished run", "meaning"])


if __name__ == "__main__":
    import sys

    from transferlab.schema import SCHEMA_PATH

    root = SCHEMA_PATH.parents[2]
    text = config_reference(SCHEMA_PATH)
    out = root / "config/README.md"
    if "--check" in sys.argv[1:]:
        sys.exit(0 if out.exists() and out.read_text() == text else 1)
    out.write_text(text)
