"""transferlab.schema: the defaults the library reads are the workflow schema's, handed out as fresh copies."""

import copy

import pytest
import yaml
from conftest import REPO

from transferlab import schema
from transferlab.run.configcheck import validate_config

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
PROPS = yaml.safe_load(SCHEMA.read_text())["properties"]
SECTIONS = [name for name, spec in PROPS.items() if "properties" in spec]


def test_the_schema_is_the_workflows():
    assert schema.SCHEMA_PATH.samefile(SCHEMA) and schema.load_schema()["properties"] == PROPS
    assert {"train", "model", "data"} <= set(SECTIONS)


@pytest.mark.parametrize("section", SECTIONS)
def test_defaults_are_what_the_workflow_fills_in(section):
    """Every key with a default, and the same values: a config that spells the defaults out validates to the
    same config as one that leaves them out."""
    d = schema.defaults(section)
    assert set(d) == {key for key, spec in PROPS[section]["properties"].items() if "default" in spec}
    implicit, explicit = {}, {section: d}
    validate_config(implicit, SCHEMA)
    validate_config(explicit, SCHEMA)
    assert explicit == implicit


def test_defaults_are_fresh_copies():
    first = schema.defaults("model")
    pristine = copy.deepcopy(first)
    first["widths"].append(1)  # a caller that edits a list default in place
    first["resnet"]["widths"] = [1]
    first["lrn"] = not first["lrn"]
    assert schema.defaults("model") == pristine
    assert schema.load_schema()["properties"]["model"]["properties"]["widths"]["default"] == pristine["widths"]
    assert schema.defaults("train") is not schema.defaults("train")
