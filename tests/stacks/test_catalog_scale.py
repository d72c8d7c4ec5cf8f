"""A team's catalogue: 200 models of every source and hosting type in one environment.

Synthesized once (about 30 s): nag runs during that synth; the tests read AWS's limits off the templates,
rendering every token with the longest value it can resolve to.
"""

import json
import re

import pytest

from benchmarks.catalog import KINDS, catalog
from stacks import names
from stacks.config import ConfigError
from stacks.config.loader import load_config
from stacks.operations_parts import MODELS_PER_DASHBOARD
from stacks.router_access import (
    LAMBDA_ENVIRONMENT_BYTES,
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_CHARACTERS,
)
from stacks.stack_limits import CLOUDFORMATION, limit_problems, stack_sizes
from stacks.stage import config_operations_parts
from tests.stacks.cfn_lint import lint_template
from tests.stacks.synth import config_from, render_tokens, synthesize

# The 200-model synth is a module fixture: one xdist worker runs the module, so it is built once.
pytestmark = pytest.mark.xdist_group("catalog")

MODELS = 200
# The longest text each kind of token can resolve to.
LONGEST = {"AWS::Partition": "aws-us-gov", "AWS::AccountId": "1" * 12, "AWS::Region": "ap-southeast-5"}
LONGEST_IMPORT = "i" * 100  # a KMS key ARN or bucket name from the data stack
# A guardrail's id is 12 characters, its version a number (at most 20 versions a guardrail).
LONGEST_ATTRIBUTES = {"GuardrailId": "g" * 12, "Version": "99999"}
LONGEST_ATTRIBUTE = "a" * 100  # any other attribute, e.g. a guardrail's ARN


def longest_token(value: dict) -> str:
    if "Ref" in value:
        return LONGEST.get(value["Ref"], LONGEST_ATTRIBUTE)
    if "Fn::ImportValue" in value:  # CDK names the export after what it exports
        export = render_tokens(value["Fn::ImportValue"])
        attribute = next((a for a in LONGEST_ATTRIBUTES if re.search(f"{a}[0-9A-F]{{8}}$", export)), None)
        return LONGEST_ATTRIBUTES[attribute] if attribute else LONGEST_IMPORT
    return LONGEST_ATTRIBUTES.get(value["Fn::GetAtt"][1], LONGEST_ATTRIBUTE)


def longest_text(value) -> str:
    """A template value as text, every token at the longest value it can resolve to."""
    return render_tokens(value, longest_token)


def document_characters(document: dict) -> int:
    """IAM's count: the policy JSON without whitespace, tokens at their longest."""
    statements = []
    for statement in document["Statement"]:
        resources = statement["Resource"]
        if isinstance(resources, list):
            statements.append({**statement, "Resource": [longest_text(r) for r in resources]})
        else:
            statements.append({**statement, "Resource": longest_text(resources)})
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))


@pytest.fixture(scope="module")
def config():
    return config_from(catalog(MODELS))


@pytest.fixture(scope="module")
def app(config):
    return synthesize(config)


def operations_stack_names(config) -> list[str]:
    return [names.operations_part_stack_name("catalog", p.number) for p in config_operations_parts(config)]


def test_two_hundred_models_pass_nag(app, config):
    report = json.loads((app.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin["violations"]] == []
    sagemaker_or_guardrail = MODELS - MODELS // len(KINDS)  # plain Bedrock models need no stack
    datasets = MODELS // len(KINDS)
    operations = operations_stack_names(config)
    assert len(operations) == -(-MODELS // MODELS_PER_DASHBOARD)  # a part per dashboard page
    assert set(operations) <= set(app.raw)
    assert (
        len(app.templates) == 3 + len(operations) + sagemaker_or_guardrail + datasets
    )  # + data, api, deploy


def test_every_stack_is_well_within_cloudformations_limits(app):
    sizes = stack_sizes(app.outdir)
    assert len(sizes) == len(app.raw) and limit_problems(sizes) == []
    # The most any stack holds at 200 models; at the router's largest catalogue, benchmarks/stack_limits.py.
    assert max(size.template_bytes for size in sizes) < CLOUDFORMATION.template_bytes / 2
    assert max(size.resources for size in sizes) < CLOUDFORMATION.resources / 2


def test_every_dashboard_page_fits_cloudwatchs_widget_limit(app, config):
    dashboards = [
        dashboard
        for name in operations_stack_names(config)
        for dashboard in app.templates[name].find_resources("AWS::CloudWatch::Dashboard").values()
    ]
    bodies = [json.loads(render_tokens(d["Properties"]["DashboardBody"])) for d in dashboards]
    assert len(bodies) == -(-MODELS // MODELS_PER_DASHBOARD)
    assert all(len(body["widgets"]) <= 500 for body in bodies), [len(b["widgets"]) for b in bodies]
    titles = [w["properties"].get("markdown", "") for body in bodies for w in body["widgets"]]
    # A row per model, the API's on each page, the datasets' on the first.
    assert sum(title.startswith("## ") for title in titles) == MODELS + len(bodies) + 1


def router_policies(app) -> list[dict]:
    policies = app.resources("api", "AWS::IAM::ManagedPolicy")
    return [p["Properties"] for logical_id, p in policies.items() if logical_id.startswith("RouterInvoke")]


def test_router_policies_fit_iam_at_their_longest(app):
    policies = router_policies(app)
    assert 1 < len(policies) <= MANAGED_POLICIES_PER_ROLE
    sizes = [document_characters(policy["PolicyDocument"]) for policy in policies]
    assert max(sizes) <= MANAGED_POLICY_CHARACTERS, sizes
    inline = app.resources("api", "AWS::IAM::Policy").values()
    router_inline = [p for p in inline if "Router" in json.dumps(p["Properties"]["Roles"])]
    assert sum(document_characters(p["Properties"]["PolicyDocument"]) for p in router_inline) <= 10240


def test_deploy_policies_fit_iam_at_their_longest(app):
    policies = [p["Properties"] for p in app.resources("deploy", "AWS::IAM::ManagedPolicy").values()]
    assert 1 < len(policies) <= MANAGED_POLICIES_PER_ROLE
    sizes = [document_characters(policy["PolicyDocument"]) for policy in policies]
    assert max(sizes) <= MANAGED_POLICY_CHARACTERS, sizes
    inline = app.resources("deploy", "AWS::IAM::Policy").values()
    assert sum(document_characters(p["Properties"]["PolicyDocument"]) for p in inline) <= 10240


def test_the_deploy_lambda_may_change_exactly_the_pipeline_models_endpoints(app, config):
    granted: dict[str, set[str]] = {}
    for policy in app.resources("deploy", "AWS::IAM::ManagedPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions, resources = (  # one of either is written as a string
                [value] if isinstance(value, str) else value
                for value in (statement["Action"], statement["Resource"])
            )
            for action in actions:
                granted.setdefault(action, set()).update(longest_text(r) for r in resources)
    pipelines = [label for label, model in config.models.items() if model.source in ("training", "autopilot")]
    assert len(pipelines) == MODELS * 3 // len(KINDS)
    sagemaker = "arn:aws:sagemaker:us-east-1:" + "1" * 12
    endpoints = {names.endpoint_name("catalog", label) for label in pipelines}
    assert granted["sagemaker:CreateEndpoint"] == {
        f"{sagemaker}:{kind}/{name}{suffix}"
        for name in endpoints
        for kind, suffix in (("endpoint", ""), ("model", "-*"), ("endpoint-config", "-*"))
    }
    roles = f"arn:aws:iam::{'1' * 12}:role"
    assert granted["iam:PassRole"] == {f"{roles}/{names.model_role_name('catalog', m)}" for m in pipelines}


def test_router_may_invoke_exactly_the_configured_endpoints(app, config):
    granted = set()
    for policy in router_policies(app):
        for statement in policy["PolicyDocument"]["Statement"]:
            if any(action.startswith("sagemaker:Invoke") for action in statement["Action"]):
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    granted.add(re.sub(r".*:endpoint/", "", longest_text(resource)))
    sagemaker = {label for label, model in config.models.items() if model.source != "bedrock"}
    assert granted == {names.endpoint_name("catalog", label) for label in sagemaker}


def test_router_environment_fits_lambda_and_its_registry_names_every_model(app, config):
    (function,) = [
        f["Properties"]
        for f in app.resources("api", "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "router.handler"
    ]
    variables = function["Environment"]["Variables"]
    size = sum(len(key) + len(longest_text(value)) for key, value in variables.items())
    assert size <= LAMBDA_ENVIRONMENT_BYTES
    assert set(app.router_registry()["models"]) == set(config.models)


def test_cfn_lint_is_clean_on_every_kind_of_stack(app, config):
    """Stacks of one kind differ only in names: lint the API, data, two operations parts, a dataset and one
    model of each kind."""
    picked = {
        names.api_stack_name("catalog"),
        names.data_stack_name("catalog"),
        names.deploy_stack_name("catalog"),
    }
    picked.update(operations_stack_names(config)[:2])  # the first part, and a part holding a page alone
    picked.add(names.dataset_stack_name("catalog", "data000"))
    picked.update(names.model_stack_name("catalog", f"{kind}-{n:03}") for n, kind in enumerate(KINDS))
    picked &= set(app.raw)
    assert len(picked) == 6 + len(KINDS) - 1  # every kind but plain Bedrock has a stack
    for stack_name in sorted(picked):
        assert [str(f) for f in lint_template(app.raw[stack_name], config.region)] == [], stack_name


def load_error(tmp_path, count: int, name: str, entry: dict) -> str:
    """The message loading ``count`` copies of ``entry`` fails with (a YAML file is also JSON)."""
    path = tmp_path / "catalogue.yaml"
    path.write_text(json.dumps({**catalog(0), "models": {f"{name}-{n:03}": entry for n in range(count)}}))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value).removeprefix(f"{path}: ")


def test_a_catalogue_iam_cannot_hold_is_one_config_error_naming_the_key(tmp_path):
    hosting = {"type": "async", "instance_type": "ml.m5.large"}
    entry = {
        "source": "huggingface",
        "model_id": "org/model",
        "task": "text-classification",
        "hosting": hosting,
    }
    message = load_error(tmp_path, 450, "m", entry)
    assert message.count("\n") == 0
    assert message.startswith("models: 450 models need ") and "at most 10" in message


def test_more_pipeline_models_than_the_deploy_role_holds_is_a_config_error(tmp_path):
    trained = {"source": "training", "dataset": "churn", "target": "churned"}
    message = load_error(tmp_path, 200, "trained", trained)
    assert message.count("\n") == 0
    assert message.startswith("models: 200 pipeline models need ") and "deploy Lambda" in message


def test_too_many_created_guardrails_is_a_config_error(tmp_path):
    guarded = {
        "source": "bedrock",
        "model_id": "amazon.nova-lite-v1:0",
        "guardrail": {"content_filters": [{"type": "HATE"}]},
    }
    message = load_error(tmp_path, 120, "assistant", guarded)
    assert message.startswith("models: 120 Bedrock models create their own guardrail")
