"""Config values from the command line: a nested key given as `--config 'train={epochs: 5}'` gets its type."""

import pytest
from conftest import REPO, md_rows


def test_a_nested_key_from_the_command_line_gets_its_type():
    """`--config 'train={epochs: 5}'` reaches the check as {"epochs": "5"} (Snakemake does not type nested
    values): numbers, booleans and lists are read as YAML; a value that is not one stays an error."""
    import copy

    import yaml

    from transferlab.errors import InvalidConfig
    from transferlab.run.configcheck import validate_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    c = copy.deepcopy(base)
    c["train"].update(epochs="5", lr="0.05", mirror="false", lr_milestones="[3, 4]")
    c["experiments"]["random_split"]["seeds"] = "[0, 1]"
    validate_config(c, schema)
    assert (c["train"]["epochs"], c["train"]["lr"], c["train"]["mirror"]) == (5, 0.05, False)
    assert c["train"]["lr_milestones"] == [3, 4] and c["experiments"]["random_split"]["seeds"] == [0, 1]
    c = copy.deepcopy(base)
    c["train"]["epochs"] = "five"
    with pytest.raises(InvalidConfig, match='train.epochs = "five": expected an integer'):
        validate_config(c, schema)
    c = copy.deepcopy(base)
    c["dataset"] = "5"  # a string key stays a string
    with pytest.raises(InvalidConfig, match="dataset"):
        validate_config(c, schema)


def test_config_readme_is_what_the_schema_generates():
    """config/README.md documents every key of the schema, with its description: regenerated, it is unchanged."""
    import yaml

    from transferlab.run.configcheck import config_reference

    schema = REPO / "workflow/schemas/config.schema.yaml"
    text = config_reference(schema)
    assert (REPO / "config/README.md").read_text() == text, "run `python -m transferlab.run.configcheck`"

    def leaves(props, prefix=""):
        for k, v in props.items():
            if v.get("type") == "object" and "properties" in v:
                yield from leaves(v["properties"], f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", v

    documented = {row[0] for row in md_rows(text)}
    for key, sub in leaves(yaml.safe_load(schema.read_text())["properties"]):
        assert f"`{key}`" in documented, key
        assert sub.get("description"), f"{key} has no description in the schema"
