"""The config schema, ``workflow/schemas/config.schema.yaml``: the one place a setting's default lives.
The workflow validates against it; the library and the benchmarks read their defaults from it."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


@functools.cache
def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def defaults(section: str) -> dict:
    """The schema's default of every key of config section ``section`` (e.g. ``train``), a fresh copy."""
    props = load_schema()["properties"][section]["properties"]
    return {key: copy.deepcopy(spec["default"]) for key, spec in props.items() if "default" in spec}


def without_effect(section: str) -> set[str]:
    """The keys of ``section`` marked ``x-effect: none``: they change how a run goes, never its results."""
    props = load_schema()["properties"][section]["properties"]
    return {key for key, spec in props.items() if spec.get("x-effect") == "none"}


def result_config(config: dict, props: dict | None = None) -> dict:
    """``config`` without the keys marked ``x-effect: none`` (how a run goes: loader workers, paths, retries),
    at every level: what defines a run's results, as config_used.yaml records it."""
    props = load_schema()["properties"] if props is None else props
    out = {}
    for key, value in config.items():
        spec = props.get(key, {})
        if spec.get("x-effect") == "none":
            continue
        out[key] = (
            result_config(value, spec["properties"]) if isinstance(value, dict) and "properties" in spec else value
        )
    return out
