"""The config model: shipped files are valid; each bad input names file, key and what is allowed."""

import json

import jsonschema
import pytest
import yaml

from stacks.config import ConfigError, load_config, select_config_path
from stacks.config.loader import CONFIG_DIR
from stacks.config.schema import SCHEMA_PATH, render_schema

BASE = "environment: dev\nregion: us-east-1\n"


def problems(tmp_path, body: str) -> list[str]:
    """The lines of the ConfigError that loading ``body`` raises."""
    path = tmp_path / "env.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    return [line.removeprefix(f"{path}: ") for line in lines]


def case_problems(tmp_path, case: tuple[str, str]) -> tuple[str, list[str]]:
    """A (model entry, expected message) case: the message, and the problems loading the entry raises."""
    body, expected = case
    return expected, problems(tmp_path, model(body))


def model(body: str, name: str = "m") -> str:
    indented = "".join(f"    {line}\n" for line in body.strip().splitlines())
    return f"{BASE}models:\n  {name}:\n{indented}"


@pytest.mark.parametrize("name", ["dev", "prod", "showcase", "staging"])
def test_shipped_configs_load_and_match_the_schema(name):
    config = load_config(CONFIG_DIR / f"{name}.yaml")
    assert config.environment == name
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text()), schema)


def test_prod_differs_in_account_region_and_removal():
    dev, prod = load_config(CONFIG_DIR / "dev.yaml"), load_config(CONFIG_DIR / "prod.yaml")
    assert (prod.account, prod.region, prod.removal) == ("222222222222", "eu-west-1", "retain")
    assert (dev.account, dev.region, dev.removal) != (prod.account, prod.region, prod.removal)


def test_defaults_keep_data(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(BASE)
    config = load_config(path)
    assert config.removal == "retain" and config.account is None and config.models == {}


def test_committed_schema_is_current():
    assert SCHEMA_PATH.read_text() == render_schema(), "config/mlkit.schema.json is stale: run `make schema`"


def test_selection_order(monkeypatch, tmp_path):
    monkeypatch.setenv("MLKIT_ENV", "prod")
    assert select_config_path(config=str(tmp_path / "x.yaml"), env="dev") == tmp_path / "x.yaml"
    assert select_config_path(env="dev") == CONFIG_DIR / "dev.yaml"
    assert select_config_path() == CONFIG_DIR / "prod.yaml"
    monkeypatch.delenv("MLKIT_ENV")
    assert select_config_path() == CONFIG_DIR / "dev.yaml"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BASE + "foo: 1\n", "foo: unknown key; allowed keys: account, alerts, api, bedrock, budget, data,"),
        (BASE + "regoin: x\n", "regoin: unknown key (did you mean 'region'?)"),
        ("environment: dev\nregion: us-east-9\n", "region: 'us-east-9' is not an AWS region; did you mean"),
        (BASE + "removal: maybe\n", "removal: 'maybe' is not allowed: Input should be 'retain' or 'destroy'"),
        (
            BASE + "account: 1234\n",
            'account: 1234 is not allowed: an account is 12 digits, quoted, e.g. "1234',
        ),
        (
            BASE + "account: 123456789012\n",
            "account: 123456789012 is not allowed: an account is 12 digits, quoted",
        ),
        ("region: us-east-1\n", "environment: is required"),
        ("environment: Dev!\nregion: us-east-1\n", "environment: 'Dev!' is not allowed: String should match"),
        (BASE + "data: {noncurrent_version_days: 0}\n", "data.noncurrent_version_days: 0 is not allowed"),
        (
            BASE + "models:\n  Bad_Name: {source: bedrock, model_id: a.b}\n",
            "models.Bad_Name: 'Bad_Name' is not allowed: String should match",
        ),
        (model("source: foo"), "models.m.source: 'foo' is not allowed: allowed: 'huggingface', 'bedrock'"),
        (model("source: training\ndataset: d\ntarget: t\ncolour: red"), "models.m.colour: unknown key"),
        (model("source: bedrock"), "models.m.model_id: is required"),
        (
            model("source: bedrock\nmodel_id: a.b", name="api"),
            "models.api: 'api' is taken by mlkit's own stacks",
        ),
    ],
    ids=[
        "unknown-top-key",
        "typo-suggestion",
        "region",
        "removal",
        "account-short",
        "account-unquoted",
        "missing",
        "environment-pattern",
        "data-range",
        "model-name",
        "unknown-source",
        "unknown-model-key",
        "missing-model-key",
        "reserved-name",
    ],
)
def test_bad_input_names_the_key_and_what_is_allowed(tmp_path, body, expected):
    assert any(line.startswith(expected) for line in problems(tmp_path, body)), problems(tmp_path, body)


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    assert problems(tmp_path, "environment: dev\nregion: [us\n") == [
        "line 3, column 1: YAML syntax error: expected ',' or ']', but got '<stream end>'"
    ]


def test_non_mapping_file(tmp_path):
    assert problems(tmp_path, "- a\n- b\n") == ["(top level): expected a mapping of keys, got list"]


def test_missing_file_lists_environments(tmp_path):
    with pytest.raises(
        ConfigError, match=r"no such config file \(environments in config/: dev, prod, showcase, staging\)$"
    ):
        load_config(CONFIG_DIR / "nope.yaml")


def test_every_problem_is_reported_at_once(tmp_path):
    lines = problems(tmp_path, "environment: dev\nregion: us-east-9\nremoval: maybe\n")
    assert [line.split(":")[0] for line in lines] == ["region", "removal"]


def test_botocore_and_the_cdk_know_the_same_regions():
    """A config loads with either list (the CDK's in a synth, botocore's in `make cost`): they must agree."""
    from aws_cdk import region_info

    from stacks.config.environment import botocore_regions

    assert botocore_regions() == tuple(sorted(region_info.Fact.regions))
