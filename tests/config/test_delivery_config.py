"""The delivery file: the shipped one loads; a bad one gets one line naming file, key and what is allowed."""

import json

import jsonschema
import pytest
import yaml

from stacks.config import ConfigError, load_delivery
from stacks.config.loader import DELIVERY_PATH
from stacks.config.schema import DELIVERY_SCHEMA_PATH, SCHEMAS, render_schema
from tests.stacks.test_app import synth_in_process

ENVIRONMENTS = {
    "dev.yaml": 'environment: dev\naccount: "111111111111"\nregion: us-east-1\n',
    "staging.yaml": 'environment: staging\naccount: "333333333333"\nregion: us-east-1\n',
    "prod.yaml": 'environment: prod\naccount: "222222222222"\nregion: eu-west-1\n',
}
PIPELINE = """
pipeline:
  tooling: {account: "444444444444", region: us-east-1}
  source:
    connection:
      arn: arn:aws:codeconnections:us-east-1:444444444444:connection/abc-123
      repository: acme/models
"""
THREE = "environments: [{config: dev.yaml}, {config: staging.yaml}, {config: prod.yaml}]\n"


def delivery(tmp_path, body: str, **environments: str):
    """Write the three environments (or the given ones, by file name) and a delivery file; load it."""
    for name, text in {**ENVIRONMENTS, **{k.replace("_", "."): v for k, v in environments.items()}}.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "delivery.yaml").write_text(body)
    return load_delivery(tmp_path / "delivery.yaml")


def problems(tmp_path, body: str, **environments: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        delivery(tmp_path, body, **environments)
    return str(raised.value).splitlines()


def test_the_shipped_delivery_file_loads_and_matches_its_schema():
    loaded = load_delivery(DELIVERY_PATH)
    assert [(e.name, e.account, e.region) for e in loaded.environments] == [
        ("dev", "111111111111", "us-east-1"),
        ("staging", "333333333333", "us-east-1"),
        ("prod", "222222222222", "eu-west-1"),
    ]
    assert [e.name for e in loaded.environments if e.approval] == ["prod"]
    schema = json.loads(DELIVERY_SCHEMA_PATH.read_text())
    jsonschema.validate(yaml.safe_load(DELIVERY_PATH.read_text()), schema)


def test_committed_schemas_are_current():
    for path, (model, title) in SCHEMAS.items():
        assert path.read_text() == render_schema(model, title), f"{path.name} is stale: run `make schema`"


def test_approvals_default_to_prod_and_can_name_any_environment(tmp_path):
    assert [e.approval for e in delivery(tmp_path, THREE + PIPELINE).environments] == [False, False, True]
    named = THREE + PIPELINE + "  approvals: [staging, prod]\n"
    assert [e.approval for e in delivery(tmp_path, named).environments] == [False, True, True]


def test_codecommit_is_a_source_too(tmp_path):
    body = THREE + PIPELINE.split("  source:")[0] + "  source: {codecommit: {repository: models}}\n"
    assert delivery(tmp_path, body).settings.pipeline.source.codecommit.branch == "main"


@pytest.mark.parametrize(
    ("body", "environments", "expected"),
    [
        (
            THREE + PIPELINE,
            {"dev_yaml": "environment: dev\nregion: us-east-1\n"},
            "dev.yaml: account: is required to deliver 'dev' (",
        ),
        (
            "environments: [{config: dev.yaml}, {config: qa.yaml}]\n" + PIPELINE,
            {},
            "delivery.yaml: environments.1.config: 'qa.yaml' is not a file in ",
        ),
        (
            "environments: [{config: dev.yaml}, {config: dev2.yaml}]\n" + PIPELINE,
            {"dev2_yaml": ENVIRONMENTS["dev.yaml"].replace("111111111111", "555555555555")},
            "environments.1.config: dev2.yaml is environment 'dev' again (environments.0 deploys it already)",
        ),
        (
            THREE + PIPELINE.split("  source:")[0] + "  source: {}\n",
            {},
            "delivery.yaml: pipeline.source: is empty: give connection (arn, repository, branch) for GitHub",
        ),
        (
            THREE + PIPELINE + "    codecommit: {repository: models}\n",
            {},
            "delivery.yaml: pipeline.source: gives both connection and codecommit: a pipeline has one source",
        ),
        (
            THREE + PIPELINE + "  approvals: [prd]\n",
            {},
            "pipeline.approvals.0: 'prd' is not an environment of this delivery (dev, staging, prod)",
        ),
        (THREE, {}, "delivery.yaml: (top level): delivers nothing: give pipeline (a CDK pipeline), github"),
        ("environments: []\ngithub: {repository: acme/models}\n", {}, "delivery.yaml: environments: "),
        (
            THREE + PIPELINE.replace("codeconnections", "codestar"),
            {},
            "delivery.yaml: pipeline.source.connection.arn: 'arn:aws:codestar:",
        ),
        (
            THREE + PIPELINE.replace('"444444444444", region', '"4444", region'),
            {},
            "delivery.yaml: pipeline.tooling.account: '4444' is not allowed: an account is 12 digits",
        ),
        (
            "environments: [{config: dev.yaml, oidc_provider_arn: "
            "'arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com'}]\n"
            "github: {repository: acme/models}\n",
            {},
            "delivery.yaml: environments.0.oidc_provider_arn: is in account 999999999999, not ",
        ),
        (
            THREE + "github: {repository: acme/models}\n",
            {"staging_yaml": ENVIRONMENTS["staging.yaml"].replace("333333333333", "111111111111")},
            "environments.1.oidc_provider_arn: is required: staging shares account 111111111111 with",
        ),
        (
            THREE + "github: {repository: 'acme models'}\n",
            {},
            "delivery.yaml: github.repository: 'acme models'",
        ),
        (THREE + PIPELINE + "  notifications: {emails: [nobody]}\n", {}, "notifications.emails.0: 'nobody'"),
    ],
    ids=[
        "missing-account",
        "unknown-environment-file",
        "duplicate-stage",
        "empty-source",
        "two-sources",
        "unknown-approval",
        "no-path",
        "no-environments",
        "connection-arn",
        "tooling-account",
        "provider-elsewhere",
        "shared-account-provider",
        "repository",
        "email",
    ],
)
def test_a_bad_delivery_file_gets_one_line_naming_file_key_and_what_is_allowed(
    tmp_path, body, environments, expected
):
    lines = problems(tmp_path, body, **environments)
    assert len(lines) == 1, lines
    assert expected in lines[0] and lines[0].startswith(str(tmp_path)), lines[0]


def test_the_app_refuses_a_bad_delivery_file_in_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "dev.yaml").write_text("environment: dev\nregion: us-east-1\n")
    (tmp_path / "delivery.yaml").write_text("environments: [{config: dev.yaml}]\n" + PIPELINE)
    # In-process: tests/stacks/test_app.py proves once that the exit message is all `cdk synth` prints.
    lines = synth_in_process(tmp_path, {"delivery": str(tmp_path / "delivery.yaml")}).splitlines()
    assert lines[0] == "mlkit: invalid config, nothing synthesized"
    assert len(lines) == 2 and lines[1].startswith(
        f"{tmp_path / 'dev.yaml'}: account: is required to deliver 'dev'"
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
