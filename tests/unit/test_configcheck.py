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


def _array_keys(props, prefix=()):
    for k, v in props.items():
        if v.get("type") == "object" and "properties" in v:
            yield from _array_keys(v["properties"], (*prefix, k))
        elif v.get("type") == "array":
            yield (*prefix, k), v


def _through_command_line(path, value) -> dict:
    """The config Snakemake builds from config/config.yaml and ``--config`` setting the key ``path`` to ``value``,
    written as a user types it (``train={lr_milestones: [50, 80]}``), through Snakemake's own parser."""
    import yaml
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    text = "[" + ", ".join(str(v) for v in value) + "]"
    for key in reversed(path[1:]):
        text = f"{{{key}: {text}}}"
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    update_config(config, parse_config([f"{path[0]}={text}"]))
    return config


def test_every_list_key_is_typed_from_the_command_line():
    """Each key of the schema that takes a list, given with --config, arrives with its elements' types: Snakemake
    hands nested list elements over as strings ("50"), which the check reads as the schema says."""
    import yaml

    from transferlab.run.configcheck import validate_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    keys = list(_array_keys(yaml.safe_load(schema.read_text())["properties"]))
    assert len(keys) >= 9, keys  # model and resnet widths, blocks, lr_milestones, seeds, layers, images_per_class
    for path, sub in keys:
        value = sub.get("default") or [50, 80]
        config = _through_command_line(path, value)
        validate_config(config, schema)
        got = config
        for key in path:
            got = got[key]
        assert got == value and all(type(g) is type(v) for g, v in zip(got, value, strict=True)), path


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("experiments", "random_split", "layers"), [0, 4], r"experiments.random_split.layers\[0\] = 0: expected"),
        (("experiments", "natman", "layers"), [1, 8], r"layers: \[8\] outside 1..7"),
        (("train", "lr_milestones"), [50, "x"], r'train.lr_milestones\[1\] = "x": expected a number'),
    ],
)
def test_a_bad_list_element_from_the_command_line_says_what_a_config_file_says(path, value, message):
    import copy

    import yaml

    from transferlab.errors import InvalidConfig
    from transferlab.run.configcheck import validate_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    from_file = yaml.safe_load((REPO / "config/config.yaml").read_text())
    node = from_file
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = copy.deepcopy(value)
    errors = []
    for config in (from_file, _through_command_line(path, value)):
        with pytest.raises(InvalidConfig, match=message) as e:
            validate_config(config, schema)
        errors.append(str(e.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize(
    ("given", "want"),
    [("4", 4), (4, 4), ("auto", "auto"), ("0", None), ("eight", None), (2.5, None), ("Auto", None)],
)
def test_threads_and_workers_take_a_number_or_auto(given, want):
    """threads_per_job and train.workers: an integer (typed from the command line's "4") or auto; anything
    else names both choices."""
    import copy

    import yaml

    from transferlab.errors import InvalidConfig
    from transferlab.run.configcheck import validate_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    c = copy.deepcopy(base)
    c["threads_per_job"] = given
    c["train"]["workers"] = given if given != "0" else "-1"
    if want is None:
        with pytest.raises(InvalidConfig) as e:
            validate_config(c, schema)
        assert "threads_per_job = " in str(e.value) and "expected an integer >= 1 or auto" in str(e.value)
        assert "train.workers = " in str(e.value) and "expected an integer >= 0 or auto" in str(e.value)
        return
    validate_config(c, schema)
    assert c["threads_per_job"] == want and c["train"]["workers"] == want
    assert type(c["threads_per_job"]) is type(want)
